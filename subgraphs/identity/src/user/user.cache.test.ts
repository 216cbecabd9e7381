import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  StaticPermissions,
  createEvent,
  eventually,
  startTestSubgraph,
  testConfig,
  type TestSubgraph,
} from '@platform/kernel/testing';
import identity from '../module.js';
import type { IdentityConfig } from '../config.js';
import type { IdentityServices } from '../services.js';
import { User } from './user.entity.js';

/**
 * The user cache behind `_entities` (other subgraphs' User references): warm lookups cost no
 * query, and no change of a user is ever served stale, whichever way it is made.
 */
type Handle = TestSubgraph<IdentityConfig, IdentityServices>;

const ADMIN = randomUUID();
const as = (id: string): Record<string, string> => ({ 'x-test-user': id });
const ENTITIES = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id displayName createdAt } } }`;

/** SELECT statements requests made the subgraph run, from its /metrics. */
async function scrapeSelects(handle: Handle): Promise<number> {
  const text = await (await fetch(`${handle.baseUrl}/metrics`)).text();
  const match = /^db_query_duration_seconds_count\{[^}]*operation="select",source="request"[^}]*\} (\d+)$/m.exec(text);
  return Number(match?.[1] ?? 0);
}

/** SELECTs run by requests during `work`, less those of reading /metrics itself (a gauge may run a query). */
async function selectsDuring(handle: Handle, work: () => Promise<unknown>): Promise<number> {
  const ownSelects = -(await scrapeSelects(handle)) + (await scrapeSelects(handle));
  const before = await scrapeSelects(handle);
  await work();
  return (await scrapeSelects(handle)) - before - ownSelects;
}

async function cacheRequests(handle: Handle, result: string): Promise<number> {
  const text = await (await fetch(`${handle.baseUrl}/metrics`)).text();
  const match = new RegExp(
    `^cache_requests_total\\{[^}]*namespace="identity",result="${result}"[^}]*\\} (\\d+)$`,
    'm',
  ).exec(text);
  return Number(match?.[1] ?? 0);
}

async function boot(userCacheTtlSec?: number, config?: ReturnType<typeof testConfig>['config']): Promise<Handle> {
  return startTestSubgraph(identity, {
    ...(config ? { config } : {}),
    overrides: userCacheTtlSec === undefined ? {} : { modules: { identity: { userCacheTtlSec } } },
    // Outbox events wait: what keeps the cache fresh here must not be the events' own (quick) invalidation.
    holdEvents: true,
    permissions: new StaticPermissions({ byUser: { [ADMIN]: ['identity.user.update', 'identity.user.delete'] } }),
    authenticate: (req) => {
      const id = req.headers['x-test-user'];
      return typeof id === 'string' ? { id } : undefined;
    },
  });
}

async function newUser(handle: Handle, displayName: string): Promise<string> {
  const em = handle.runtime.em();
  const user = em.create(User, { email: `${randomUUID()}@example.com`, displayName, emailVerified: true });
  await em.flush();
  return user.id;
}

async function entity(handle: Handle, id: string): Promise<{ id: string; displayName: string | null } | null> {
  const { body } = await handle.query<{ _entities: Array<{ id: string; displayName: string | null } | null> }>(
    ENTITIES,
    { representations: [{ __typename: 'User', id }] },
  );
  expect(body.errors).toBeUndefined();
  const [user] = body.data!._entities;
  return user ? { id: user.id, displayName: user.displayName } : null;
}

describe('user cache (_entities)', () => {
  let handle: Handle;

  beforeAll(async () => {
    handle = await boot();
  });

  afterAll(async () => {
    await handle?.stop();
  });

  it('answers warm lookups without a query, the same as a cold one; unknown ids are asked each time', async () => {
    const ids = [await newUser(handle, 'Ada'), await newUser(handle, 'Grace'), randomUUID()];
    const representations = ids.map((id) => ({ __typename: 'User', id }));
    type Answer = Awaited<ReturnType<typeof handle.query<{ _entities: unknown[] }>>>;
    let cold!: Answer;
    let warm!: Answer;
    const coldSelects = await selectsDuring(
      handle,
      async () => (cold = await handle.query<{ _entities: unknown[] }>(ENTITIES, { representations })),
    );
    const hitsBefore = await cacheRequests(handle, 'hit');
    const warmSelects = await selectsDuring(
      handle,
      async () =>
        (warm = await handle.query<{ _entities: unknown[] }>(ENTITIES, {
          representations: representations.slice(0, 2),
        })),
    );
    expect(cold.body.errors).toBeUndefined();
    expect(warm.body).toEqual({ data: { _entities: cold.body.data!._entities.slice(0, 2) } });
    expect(cold.body.data).toEqual({
      _entities: [
        { id: ids[0], displayName: 'Ada', createdAt: expect.any(String) },
        { id: ids[1], displayName: 'Grace', createdAt: expect.any(String) },
        null,
      ],
    });
    expect(coldSelects).toBe(1); // the misses of one request: one statement
    expect(warmSelects).toBe(0);
    expect((await cacheRequests(handle, 'hit')) - hitsBefore).toBe(2);
    // An unknown id is not stored (random ids must not push users out of memory): asked again.
    expect(await selectsDuring(handle, () => entity(handle, ids[2]!))).toBe(1);
  });

  it('shows a profile update at once', async () => {
    const id = await newUser(handle, 'Before');
    expect(await entity(handle, id)).toEqual({ id, displayName: 'Before' });
    const { body } = await handle.query(
      `mutation { updateProfile(input: { displayName: "After" }) { displayName } }`,
      {},
      as(id),
    );
    expect(body.errors).toBeUndefined();
    expect(await entity(handle, id)).toEqual({ id, displayName: 'After' });
  });

  it("shows an administrator's edit and a deletion at once", async () => {
    const id = await newUser(handle, 'Edited');
    expect(await entity(handle, id)).toEqual({ id, displayName: 'Edited' });
    const edit = await handle.query(
      `mutation ($id: ID!) { updateUser(id: $id, input: { displayName: "By the admin" }) { id } }`,
      { id },
      as(ADMIN),
    );
    expect(edit.body.errors).toBeUndefined();
    expect(await entity(handle, id)).toEqual({ id, displayName: 'By the admin' });
    const deletion = await handle.query(`mutation ($id: ID!) { deleteUser(id: $id) }`, { id }, as(ADMIN));
    expect(deletion.body.errors).toBeUndefined();
    // The tombstone resolves (references must not break), without the profile.
    expect(await entity(handle, id)).toEqual({ id, displayName: null });
  });

  it('drops a user changed by any flush of the ORM, and a user created under an id it had answered null for', async () => {
    const id = await newUser(handle, 'Flushed');
    expect(await entity(handle, id)).toEqual({ id, displayName: 'Flushed' });
    const em = handle.runtime.em();
    await em.transactional(async (tx) => {
      const user = await tx.findOneOrFail(User, id);
      user.displayName = 'In a transaction';
    });
    expect(await entity(handle, id)).toEqual({ id, displayName: 'In a transaction' });

    const later = randomUUID();
    expect(await entity(handle, later)).toBeNull();
    const fork = handle.runtime.em();
    fork.create(User, { id: later, email: `${later}@example.com`, displayName: 'New' });
    await fork.flush();
    expect(await entity(handle, later)).toEqual({ id: later, displayName: 'New' });
  });

  it("drops a user another process changed, on that change's event", async () => {
    const id = await newUser(handle, 'Elsewhere');
    expect(await entity(handle, id)).toEqual({ id, displayName: 'Elsewhere' });
    // Another process (a command-line job) writes the row and records the event; the ORM here sees neither.
    await handle.runtime
      .em()
      .getConnection()
      .execute(`update "${handle.runtime.db.schema}"."user" set display_name = 'Renamed' where id = ?`, [id]);
    expect(await entity(handle, id)).toEqual({ id, displayName: 'Elsewhere' }); // cached, as designed
    await handle.runtime.bus.publish([
      createEvent('identity', 'identity.user.updated', { userId: id, changed: ['displayName'] }),
    ]);
    await eventually(async () => expect(await entity(handle, id)).toEqual({ id, displayName: 'Renamed' }));
  });
});

describe('user cache turned off (userCacheTtlSec: 0)', () => {
  let handle: Handle;

  beforeAll(async () => {
    handle = await boot(0);
  });

  afterAll(async () => {
    await handle?.stop();
  });

  it('queries the database for every lookup', async () => {
    const id = await newUser(handle, 'Uncached');
    const selects = await selectsDuring(handle, async () => {
      expect(await entity(handle, id)).toEqual({ id, displayName: 'Uncached' });
      expect(await entity(handle, id)).toEqual({ id, displayName: 'Uncached' });
    });
    expect(selects).toBe(2);
    expect(await cacheRequests(handle, 'hit')).toBe(0);
  });
});

// Two instances of identity on one database need PostgreSQL, and their caches Redis.
if (process.env.DATABASE_URL && process.env.REDIS_URL) {
  describe('user cache across identity instances (PostgreSQL + Redis)', () => {
    let shared: ReturnType<typeof testConfig>;
    let first: Handle;
    let second: Handle;

    beforeAll(async () => {
      shared = testConfig();
      first = await boot(undefined, shared.config);
      second = await boot(undefined, shared.config);
    });

    afterAll(async () => {
      await second?.stop();
      await first?.stop();
      await shared?.cleanup();
    });

    it("drops a user from every instance's memory when one instance changes it", async () => {
      const id = await newUser(first, 'Shared');
      expect(await entity(first, id)).toEqual({ id, displayName: 'Shared' });
      expect(await entity(second, id)).toEqual({ id, displayName: 'Shared' }); // now in second's memory too
      const { body } = await first.query(
        `mutation { updateProfile(input: { displayName: "Changed on the first" }) { displayName } }`,
        {},
        as(id),
      );
      expect(body.errors).toBeUndefined();
      expect(await entity(first, id)).toEqual({ id, displayName: 'Changed on the first' });
      // The invalidation travels by Redis pub/sub (the outbox events are held).
      await eventually(async () =>
        expect(await entity(second, id)).toEqual({ id, displayName: 'Changed on the first' }),
      );
    });
  });
}
