import type { Router } from 'express';
import { ConflictError, type ModuleRuntime } from '@platform/kernel';
import type { IdentityConfig } from '../config.js';
import type { SigningKeys } from './signing-keys.js';

/** `platformctl keys list|rotate` against a running identity on the embedded database. */
export const SIGNING_KEYS_PATH = '/internal/signing-keys';

/**
 * On the embedded database only one process may open identity's data, so while identity runs,
 * `platformctl keys` asks it over these routes (internal: the kernel requires the service
 * credential on /internal/*). On PostgreSQL platformctl reads and writes the table itself, and
 * the routes do not exist: no credential holder (Prometheus has one) can rotate keys over HTTP.
 */
export function signingKeyRoutes(router: Router, runtime: ModuleRuntime<IdentityConfig>, keys: SigningKeys): void {
  if (runtime.db.kind !== 'pglite') return;
  router.get(SIGNING_KEYS_PATH, async (_req, res) => {
    await keys.refresh();
    res.set('cache-control', 'no-store').json({ keys: keys.list() });
  });
  // `?activate=now`: signs at once; otherwise after the publish lead, like a scheduled rotation.
  router.post(`${SIGNING_KEYS_PATH}/rotate`, async (req, res) => {
    const now = req.query.activate === 'now';
    try {
      const rotated = await keys.rotate({ activateAfterSec: now ? 0 : runtime.config.keys.publishLeadSec });
      res.set('cache-control', 'no-store').json(rotated);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      res.status(409).json({ errors: [{ message: error.message, extensions: { code: 'CONFLICT' } }] });
    }
  });
}
