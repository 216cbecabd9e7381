import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { startTestSubgraph, waitFor, type TestSubgraph } from '@platform/kernel/testing';
import identity from '../module.js';
import { deleteExpiredCredentials } from './cleanup.js';

const HOUR = 3600;
const ago = (sec: number): Date => new Date(Date.now() - sec * 1000);
const ahead = (sec: number): Date => new Date(Date.now() + sec * 1000);
const hash = (): string => randomBytes(32).toString('hex');

describe('deleting expired credentials', () => {
  let handle: TestSubgraph;
  let schema: string;
  const table = (name: string): string => `"${schema}"."${name}"`;

  beforeAll(async () => {
    handle = await startTestSubgraph(identity);
    schema = handle.runtime.db.schema;
  });

  afterAll(async () => {
    await handle?.stop();
  });

  async function user(): Promise<string> {
    const id = randomUUID();
    await handle.runtime
      .em()
      .execute(
        `insert into ${table('user')} (id, email, display_name, email_verified, created_at, updated_at) values (?, ?, null, true, now(), now())`,
        [id, `${id}@example.com`],
      );
    return id;
  }

  async function session(userId: string, expiresAt: Date, revokedAt: Date | null = null): Promise<string> {
    const id = randomUUID();
    await handle.runtime
      .em()
      .execute(
        `insert into ${table('session')} (id, user_id, created_at, expires_at, revoked_at) values (?, ?, ?, ?, ?)`,
        [id, userId, ago(30 * 24 * HOUR), expiresAt, revokedAt],
      );
    return id;
  }

  async function refreshToken(sessionId: string, expiresAt: Date): Promise<string> {
    const id = randomUUID();
    await handle.runtime
      .em()
      .execute(
        `insert into ${table('refresh_token')} (id, session_id, token_hash, created_at, expires_at) values (?, ?, ?, now(), ?)`,
        [id, sessionId, hash(), expiresAt],
      );
    return id;
  }

  async function emailToken(userId: string, expiresAt: Date, usedAt: Date | null = null): Promise<string> {
    const id = randomUUID();
    await handle.runtime
      .em()
      .execute(
        `insert into ${table('email_token')} (id, user_id, purpose, token_hash, created_at, expires_at, used_at) values (?, ?, 'verify_email', ?, now(), ?, ?)`,
        [id, userId, hash(), expiresAt, usedAt],
      );
    return id;
  }

  async function present(name: string, ids: string[]): Promise<string[]> {
    const rows = await handle.runtime
      .em()
      .execute<Array<{ id: string }>>(
        `select id from ${table(name)} where id in (${ids.map(() => '?').join(', ')})`,
        ids,
      );
    return rows.map((row) => row.id).sort();
  }

  it('deletes what stopped being usable longer ago than the retention, and nothing else', async () => {
    const retain = 24 * HOUR;
    const owner = await user();
    const live = await session(owner, ahead(HOUR));
    const expiredLately = await session(owner, ago(HOUR));
    const expiredLongAgo = await session(owner, ago(2 * retain));
    const revokedLately = await session(owner, ahead(HOUR), ago(HOUR));
    const revokedLongAgo = await session(owner, ahead(HOUR), ago(2 * retain));
    const liveToken = await refreshToken(live, ahead(HOUR));
    const rotatedLately = await refreshToken(live, ago(HOUR));
    const rotatedLongAgo = await refreshToken(live, ago(2 * retain));
    const tokenOfExpired = await refreshToken(expiredLongAgo, ago(2 * retain));
    const pending = await emailToken(owner, ahead(HOUR));
    const usedLately = await emailToken(owner, ahead(HOUR), ago(HOUR));
    const usedLongAgo = await emailToken(owner, ahead(HOUR), ago(2 * retain));
    const lapsedLongAgo = await emailToken(owner, ago(2 * retain));

    const result = await deleteExpiredCredentials(handle.runtime.em(), schema, retain);

    expect(result).toEqual({ sessions: 2, refreshTokens: 1, emailTokens: 2 });
    expect(await present('session', [live, expiredLately, expiredLongAgo, revokedLately, revokedLongAgo])).toEqual(
      [live, expiredLately, revokedLately].sort(),
    );
    // The expired session's token went with it; rotated tokens of a live session stay until they expire + retention.
    expect(await present('refresh_token', [liveToken, rotatedLately, rotatedLongAgo, tokenOfExpired])).toEqual(
      [liveToken, rotatedLately].sort(),
    );
    expect(await present('email_token', [pending, usedLately, usedLongAgo, lapsedLongAgo])).toEqual(
      [pending, usedLately].sort(),
    );
    // A second run finds nothing more.
    expect(await deleteExpiredCredentials(handle.runtime.em(), schema, retain)).toEqual({
      sessions: 0,
      refreshTokens: 0,
      emailTokens: 0,
    });
  });

  it('runs as the job of the expired-credentials schedule', async () => {
    expect(handle.runtime.manifest.schedules).toContainEqual(
      expect.objectContaining({ name: 'expired-credentials', handler: 'delete-expired-credentials' }),
    );
    const owner = await user();
    const retained = handle.runtime.config as { credentialRetentionDays: number };
    const old = await session(owner, ago((retained.credentialRetentionDays + 1) * 24 * HOUR));
    const recent = await session(owner, ago(HOUR));
    await handle.runtime.jobs.enqueue('delete-expired-credentials', {});
    await waitFor(async () => (await present('session', [old, recent])).length === 1);
    expect(await present('session', [old, recent])).toEqual([recent]);
  });
});
