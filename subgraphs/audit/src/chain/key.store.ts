import type { EntityManager, Logger } from '@platform/kernel';
import { iso, type AuditTables } from './chain.store.js';
import { knownKey, type KnownKey, type PublicJwk } from './key-ring.js';

/**
 * Publishes a signing key's public half for every verifier (all instances, `platformctl`, the
 * key route, exports): an append-only row, written once per key. Only the public JWK is sent.
 */
export async function registerKey(em: EntityManager, t: AuditTables, kid: string, jwk: PublicJwk): Promise<void> {
  const publicOnly: PublicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
  await em.execute(
    `insert into ${t.keys} (kid, public_key) values (?, ?::jsonb) on conflict (kid) do nothing`,
    [kid, JSON.stringify(publicOnly)],
    'run',
  );
}

/**
 * Every registered key, oldest first. A row whose kid is not its key's thumbprint, or whose key
 * is not an Ed25519 public key, is left out (logged): nothing it signs can verify.
 */
export async function registeredKeys(em: EntityManager, t: AuditTables, logger?: Logger): Promise<KnownKey[]> {
  const rows = await em.execute<Array<{ kid: string; public_key: unknown; created_at: string }>>(
    `select k.kid, k.public_key, ${iso('created_at')} from ${t.keys} k order by k.created_at, k.kid`,
  );
  const keys: KnownKey[] = [];
  for (const row of rows) {
    try {
      const jwk = typeof row.public_key === 'string' ? JSON.parse(row.public_key) : row.public_key;
      keys.push(knownKey(row.kid, jwk, new Date(row.created_at)));
    } catch (error) {
      logger?.error({ kid: row.kid, reason: (error as Error).message }, 'audit signing key row ignored');
    }
  }
  return keys;
}
