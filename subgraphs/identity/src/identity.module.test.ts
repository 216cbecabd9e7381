import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { StaticPermissions, startTestSubgraph, type TestSubgraph } from '@platform/kernel/testing';
import identity from './module.js';
import { User } from './user/user.entity.js';
import { DEMO_USERS, seedDemoUsers } from './demo.js';

const ALICE = randomUUID();
/** Has not verified his address. */
const BOB = randomUUID();
/** Holds identity.user.read. */
const READER = randomUUID();

/** Who calls: the `x-test-user` header names the caller (token verification comes later). */
const as = (id: string): Record<string, string> => ({ 'x-test-user': id });

/** How many SELECT statements requests made the subgraph run (not background work), from its /metrics. */
async function selectCount(handle: TestSubgraph): Promise<number> {
  const text = await (await fetch(`${handle.baseUrl}/metrics`)).text();
  const match = /^db_query_duration_seconds_count\{[^}]*operation="select",source="request"[^}]*\} (\d+)$/m.exec(text);
  return Number(match?.[1] ?? 0);
}

describe('identity module', () => {
  let handle: TestSubgraph;

  beforeAll(async () => {
    handle = await startTestSubgraph(identity, {
      overrides: { demoData: true },
      permissions: new StaticPermissions({ byUser: { [READER]: ['identity.user.read'] } }),
      authenticate: (req) => {
        const id = req.headers['x-test-user'];
        return typeof id === 'string' ? { id } : undefined;
      },
    });
    const em = handle.runtime.em();
    em.create(User, { id: ALICE, email: 'alice@example.com', displayName: 'Alice', emailVerified: true });
    em.create(User, { id: BOB, email: 'bob@example.com', displayName: null });
    await em.flush();
  });

  afterAll(async () => {
    await handle?.stop();
  });

  it('reads a user by id, public profile fields for anyone', async () => {
    const { body } = await handle.query(`query ($id: ID!) { user(id: $id) { id displayName createdAt updatedAt } }`, {
      id: ALICE,
    });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({
      user: { id: ALICE, displayName: 'Alice', createdAt: expect.any(String), updatedAt: expect.any(String) },
    });
  });

  it('returns null for an unknown user', async () => {
    const { body } = await handle.query(`query ($id: ID!) { user(id: $id) { id } }`, { id: randomUUID() });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ user: null });
  });

  it('rejects an id that is not a UUID as BAD_USER_INPUT', async () => {
    const { body } = await handle.query(`{ user(id: "42") { id } }`);
    expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(body.errors?.[0]?.extensions?.fields).toEqual([{ field: 'id', message: 'must be a UUID' }]);
  });

  describe('unverified accounts (register answers a taken address with an id that exists nowhere)', () => {
    const query = `query ($id: ID!) { user(id: $id) { id displayName } }`;

    it.each([
      ['anonymous callers', {}],
      ['other users', as(ALICE)],
    ])('are null for %s, as an unknown id is', async (_who, headers) => {
      const { body } = await handle.query(query, { id: BOB }, headers);
      expect(body).toEqual({ data: { user: null } });
    });

    it.each([
      ['the user themself', BOB],
      ['holders of identity.user.read', READER],
    ])('are visible to %s', async (_who, caller) => {
      const { body } = await handle.query(query, { id: BOB }, as(caller));
      expect(body).toEqual({ data: { user: { id: BOB, displayName: null } } });
    });

    it('still resolve as entity references, so their posts keep an author', async () => {
      const { body } = await handle.query(
        `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id displayName } } }`,
        { representations: [{ __typename: 'User', id: BOB }] },
      );
      expect(body).toEqual({ data: { _entities: [{ id: BOB, displayName: null }] } });
    });
  });

  describe('email and emailVerified', () => {
    const query = `query ($id: ID!) { user(id: $id) { id email emailVerified } }`;

    it('are hidden from anonymous callers (FORBIDDEN)', async () => {
      const { body } = await handle.query(query, { id: ALICE });
      expect(body.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
      expect(body.data?.user ?? null).toBeNull();
    });

    it('are hidden from other users (FORBIDDEN)', async () => {
      const { body } = await handle.query(query, { id: ALICE }, as(BOB));
      expect(body.errors?.map((e) => e.extensions?.code)).toContain('FORBIDDEN');
    });

    it('are visible to the user themself', async () => {
      const { body } = await handle.query(query, { id: ALICE }, as(ALICE));
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ user: { id: ALICE, email: 'alice@example.com', emailVerified: true } });
    });

    it('are decided per user when one request reads several', async () => {
      const { body } = await handle.query(
        `query ($a: ID!, $b: ID!) { a: user(id: $a) { email } b: user(id: $b) { email } }`,
        { a: ALICE, b: BOB },
        as(BOB),
      );
      expect(body.data?.b).toEqual({ email: 'bob@example.com' });
      expect(body.data?.a ?? null).toBeNull();
      expect(body.errors).toHaveLength(1);
      expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });
  });

  describe('me', () => {
    it('is null when anonymous', async () => {
      const { body } = await handle.query(`{ me { id } }`);
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ me: null });
    });

    it('is the caller when signed in, email included', async () => {
      const { body } = await handle.query(`{ me { id email displayName } }`, undefined, as(BOB));
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ me: { id: BOB, email: 'bob@example.com', displayName: null } });
    });
  });

  describe('_entities', () => {
    const query = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id displayName } } }`;

    it('resolves users for other subgraphs, several ids in one statement', async () => {
      const before = await selectCount(handle);
      const { body } = await handle.query(query, {
        representations: [
          { __typename: 'User', id: ALICE },
          { __typename: 'User', id: BOB },
          { __typename: 'User', id: randomUUID() },
        ],
      });
      const after = await selectCount(handle);
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({
        _entities: [{ id: ALICE, displayName: 'Alice' }, { id: BOB, displayName: null }, null],
      });
      expect(after - before).toBe(1);
    });

    it('resolves a malformed id to null instead of a database error', async () => {
      const { body } = await handle.query(query, { representations: [{ __typename: 'User', id: 'nope' }] });
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ _entities: [null] });
    });

    it('keeps email private through _entities too', async () => {
      const { body } = await handle.query(
        `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { email } } }`,
        { representations: [{ __typename: 'User', id: ALICE }] },
      );
      expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });
  });

  describe('demo users', () => {
    it('are created at start when demoData is on, once', async () => {
      await seedDemoUsers(handle.runtime);
      const em = handle.runtime.em();
      const demo = await em.find(User, { id: { $in: DEMO_USERS.map((u) => u.id) } }, { orderBy: { id: 'asc' } });
      expect(demo.map((u) => [u.id, u.email, u.displayName])).toEqual(
        DEMO_USERS.map((u) => [u.id, u.email, u.displayName]),
      );
    });
  });
});
