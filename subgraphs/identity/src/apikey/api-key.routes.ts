import type { Router } from 'express';
import { AuthenticationError, type ModuleRuntime } from '@platform/kernel';
import { API_KEY_EXCHANGE_PATH } from '@platform/kernel/contracts';
import type { IdentityConfig } from '../config.js';
import type { ApiKeyService } from './api-key.service.js';

/** The header carrying the key to exchange, and the one naming the client that presented it. */
export const EXCHANGE_KEY_HEADER = 'x-api-key';
export const EXCHANGE_CLIENT_IP_HEADER = 'x-api-key-client-ip';

/**
 * `POST /internal/api-keys/exchange` (the kernel requires the service credential on /internal/*):
 * the gateway trades the key a client presented for a short-lived access token restricted to the
 * key's permissions. The key travels in a header, never in a URL (URLs are logged).
 */
export function apiKeyRoutes(router: Router, runtime: ModuleRuntime<IdentityConfig>, apiKeys: ApiKeyService): void {
  router.post(API_KEY_EXCHANGE_PATH, async (req, res) => {
    res.set('cache-control', 'no-store');
    const key = req.get(EXCHANGE_KEY_HEADER) ?? '';
    const ip = req.get(EXCHANGE_CLIENT_IP_HEADER) || undefined;
    try {
      res.json(await apiKeys.exchange(runtime.em(), key, ip));
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      res.status(401).json({ error: error.message });
    }
  });
}
