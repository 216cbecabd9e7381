import type { EntityManager } from '@platform/kernel';

/** What one cleanup run deleted. */
export interface CleanupResult {
  sessions: number;
  refreshTokens: number;
  emailTokens: number;
}

/** Rows one statement deletes at most: a run loops, so no statement holds its locks for long. */
const BATCH = 5000;

/**
 * Deletes credentials nobody can use any more, `retainSec` after they stopped being usable:
 * sessions expired or revoked (their refresh tokens go with them), refresh tokens expired in live
 * sessions (rotated ones stay until then: presenting one is how reuse is detected), and email
 * tokens expired or used. `retainSec` must cover the revocation hold (a revoked session is listed
 * as revoked for an access token's lifetime): the caller passes at least that.
 */
export async function deleteExpiredCredentials(
  em: EntityManager,
  schema: string,
  retainSec: number,
): Promise<CleanupResult> {
  const table = (name: string): string => `"${schema.replace(/"/g, '""')}"."${name}"`;
  const cutoff = "now() - ?::int * interval '1 second'";
  const sessions = await drain(
    em,
    `delete from ${table('session')} where id in (select id from ${table('session')}
       where expires_at < ${cutoff} or revoked_at < ${cutoff} limit ${BATCH})`,
    [retainSec, retainSec],
  );
  const refreshTokens = await drain(
    em,
    `delete from ${table('refresh_token')} where id in (select id from ${table('refresh_token')}
       where expires_at < ${cutoff} limit ${BATCH})`,
    [retainSec],
  );
  const emailTokens = await drain(
    em,
    `delete from ${table('email_token')} where id in (select id from ${table('email_token')}
       where expires_at < ${cutoff} or used_at < ${cutoff} limit ${BATCH})`,
    [retainSec, retainSec],
  );
  return { sessions, refreshTokens, emailTokens };
}

async function drain(em: EntityManager, sql: string, params: unknown[]): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await em.execute<{ affectedRows: number }>(sql, params, 'run');
    total += result.affectedRows;
    if (result.affectedRows < BATCH) return total;
  }
}
