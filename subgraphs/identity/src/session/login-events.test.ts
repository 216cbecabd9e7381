import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StaticPermissions, startTestSubgraph, type TestSubgraph } from '@platform/kernel/testing';
import identity from '../module.js';
import type { IdentityConfig } from '../config.js';
import type { IdentityServices } from '../services.js';

/**
 * What identity records about logins the throttle refuses (issue 25: 8 attempts produced 5
 * records, none for the refusals and no lockout), on the configured database: the events in its
 * outbox, which audit records one for one.
 */
type Handle = TestSubgraph<IdentityConfig, IdentityServices>;

interface OutboxRow {
  topic: string;
  payload: Record<string, unknown>;
  meta: Record<string, unknown>;
}

const PASSWORD = 'correct horse battery';
let handle: Handle;

const code = (body: { errors?: Array<{ extensions?: Record<string, unknown> }> }) => body.errors?.[0]?.extensions?.code;

async function login(email: string, password: string) {
  const { body } = await handle.query<{ login: { user: { id: string } } }>(
    'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { user { id } } }',
    { email, password },
  );
  return body;
}

async function register(email: string): Promise<string> {
  const { body } = await handle.query<{ register: { id: string } }>(
    'mutation ($input: RegisterInput!) { register(input: $input) { id } }',
    { input: { email, password: PASSWORD } },
  );
  expect(body.errors).toBeUndefined();
  return body.data!.register.id;
}

/** Login and lockout events in the outbox since `seq`, in order. */
async function eventsSince(seq: number): Promise<OutboxRow[]> {
  const { db } = handle.runtime;
  return db
    .fork()
    .execute<OutboxRow[]>(
      `select topic, payload, meta from "${db.schema}".outbox where seq > ? and topic ~ '^identity\\.(login|lockout)\\.' order by seq`,
      [seq],
    );
}

async function lastSeq(): Promise<number> {
  const { db } = handle.runtime;
  const [row] = await db
    .fork()
    .execute<Array<{ seq: string | null }>>(`select max(seq)::text as seq from "${db.schema}".outbox`);
  return Number(row?.seq ?? 0);
}

beforeAll(async () => {
  handle = (await startTestSubgraph(identity, {
    permissions: new StaticPermissions({}),
    // Lockouts of 3 s, so their end comes within the test; addresses locked after 12 failures.
    overrides: {
      modules: {
        identity: { throttle: { perAccount: { attempts: 5, windowSec: 3 }, perIp: { attempts: 12, windowSec: 3 } } },
      },
    },
  })) as Handle;
}, 60_000);

afterAll(async () => {
  await handle?.stop();
});

describe('security events of logins', () => {
  it('8 attempts (5 wrong passwords, 3 while locked): 5 failures, the lockout, one throttled event for the 3; the next attempt after it lapsed records its end', async () => {
    const email = `locked-${Date.now()}@example.com`;
    const userId = await register(email);
    const since = await lastSeq();
    for (let i = 0; i < 5; i++) expect(code(await login(email, `wrong ${i}`))).toBe('UNAUTHENTICATED');
    for (let i = 0; i < 3; i++)
      expect(code(await login(email, i === 2 ? PASSWORD : `wrong again ${i}`))).toBe('RATE_LIMITED');

    const recorded = await eventsSince(since);
    expect(recorded.map((row) => row.topic)).toEqual([
      ...Array<string>(5).fill('identity.login.failed'),
      'identity.lockout.started',
      'identity.login.throttled',
    ]);
    expect(recorded[5]!.payload).toEqual({
      scope: 'account',
      userId,
      address: null,
      durationSec: 3,
      strike: 1,
      until: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(recorded[6]!.payload).toEqual({
      userId,
      scopes: ['account'],
      retryAfterSec: expect.any(Number),
      attempts: 1,
      windowSec: 60,
    });
    // The address travels in the meta, as for every event made while serving a request.
    expect(recorded[6]!.meta.ip).toEqual(expect.any(String));

    // After the lockout lapsed, the next attempt (here the right password) records its end.
    const ended = await lastSeq();
    const until = Date.parse(recorded[5]!.payload.until as string);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now()) + 1100));
    expect((await login(email, PASSWORD)).errors).toBeUndefined();
    const after = await eventsSince(ended);
    expect(after.map((row) => row.topic)).toEqual(['identity.lockout.ended', 'identity.login.succeeded']);
    expect(after[0]!.payload).toEqual({
      scope: 'account',
      userId,
      address: null,
      endedAt: expect.any(String),
    });
    expect(Math.abs(Date.parse(after[0]!.payload.endedAt as string) - until)).toBeLessThan(1000);
    // Once.
    const later = await lastSeq();
    expect((await login(email, PASSWORD)).errors).toBeUndefined();
    expect((await eventsSince(later)).map((row) => row.topic)).toEqual(['identity.login.succeeded']);
  }, 30_000);

  it('locks an address spraying unknown accounts, without naming them, and aggregates its refusals per account', async () => {
    const since = await lastSeq();
    for (let i = 0; i < 12; i++) {
      expect(code(await login(`nobody-${i}-${Date.now()}@example.com`, 'guess'))).toBe('UNAUTHENTICATED');
    }
    // Locked now: refusals for two accounts, twice each.
    for (const account of ['a', 'b', 'a', 'b']) {
      expect(code(await login(`spray-${account}@example.com`, 'guess'))).toBe('RATE_LIMITED');
    }
    const recorded = await eventsSince(since);
    expect(recorded.map((row) => row.topic)).toEqual([
      ...Array<string>(12).fill('identity.login.failed'),
      'identity.lockout.started',
      'identity.login.throttled',
      'identity.login.throttled',
    ]);
    expect(recorded[12]!.payload).toEqual({
      scope: 'address',
      userId: null,
      address: expect.any(String),
      durationSec: 3,
      strike: 1,
      until: expect.any(String),
    });
    expect(recorded[13]!.payload).toMatchObject({ userId: null, scopes: ['address'], attempts: 1 });
    // Nothing in them names the unknown accounts tried.
    expect(JSON.stringify(recorded)).not.toMatch(/nobody-|spray-/);
    // The address lockout lapses; the next attempt from it records the end.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, Date.parse(recorded[12]!.payload.until as string) - Date.now()) + 1100),
    );
    const ended = await lastSeq();
    expect(code(await login('spray-c@example.com', 'guess'))).toBe('UNAUTHENTICATED');
    expect((await eventsSince(ended)).map((row) => [row.topic, row.payload.scope ?? null])).toEqual([
      ['identity.lockout.ended', 'address'],
      ['identity.login.failed', null],
    ]);
  }, 30_000);
});
