import type { EntityManager } from '@platform/kernel';
import type { RevocationSnapshot } from '@platform/kernel/contracts';
import { ApiKey } from '../apikey/api-key.entity.js';
import { User } from '../user/user.entity.js';
import { Session } from './session.entity.js';

/**
 * Revocations whose access tokens may still be alive: sessions revoked and users deleted within
 * the last `holdMs` (the access-token lifetime plus a margin), API keys among the sessions (a
 * key's id is its tokens' `sid`), and only those after `sinceMs`
 * when given (the reader's previous read). Read from the database rather than any one
 * process's memory, so every identity replica answers the same.
 */
export async function recentRevocations(
  em: EntityManager,
  holdMs: number,
  sinceMs?: number,
): Promise<RevocationSnapshot> {
  const since = new Date(Math.max(Date.now() - holdMs, sinceMs ?? 0));
  const [sessions, keys, users] = await Promise.all([
    em.find(Session, { revokedAt: { $gt: since } }, { fields: ['id', 'revokedAt'] }),
    em.find(ApiKey, { revokedAt: { $gt: since } }, { fields: ['id', 'revokedAt'] }),
    em.find(User, { deletedAt: { $gt: since } }, { fields: ['id', 'deletedAt'] }),
  ]);
  return {
    sessions: [...sessions, ...keys].map((session) => ({
      id: session.id,
      untilMs: session.revokedAt!.getTime() + holdMs,
    })),
    users: users.map((user) => ({
      id: user.id,
      revokedAtMs: user.deletedAt!.getTime(),
      untilMs: user.deletedAt!.getTime() + holdMs,
    })),
  };
}
