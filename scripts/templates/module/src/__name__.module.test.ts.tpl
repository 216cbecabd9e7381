import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createEvent, StaticPermissions, startTestSubgraph, waitFor, type TestSubgraph } from '@platform/kernel/testing';
import __name__Module from './module.js';
import { Permission } from './permissions.generated.js';
import { __Resource__ } from './__resource__/__resource__.entity.js';
import type { __Name__Services } from './services.js';

type GraphQLErrors = Array<{ message: string; extensions?: Record<string, unknown> }> | undefined;

interface __Resource__View {
  id: string;
  title: string;
  content: string;
  createdAt: string;
  updatedAt: string;
  author: { id: string };
}

interface __Resources__Page {
  totalCount: number;
  edges: Array<{ node: { id: string; createdAt: string } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const FIELDS = 'id title content createdAt updatedAt author { id }';
const CREATE = `mutation ($input: Create__Resource__Input!) { create__Resource__(input: $input) { ${FIELDS} } }`;
const GET = `query ($id: ID!) { __resource__(id: $id) { ${FIELDS} } }`;
const LIST = `query ($first: Int, $after: String, $authorId: ID) {
  __resources__(first: $first, after: $after, authorId: $authorId) { totalCount edges { node { id createdAt } } pageInfo { hasNextPage endCursor } }
}`;
const UPDATE = `mutation ($id: ID!, $input: Update__Resource__Input!) { update__Resource__(id: $id, input: $input) { ${FIELDS} } }`;
const DELETE = `mutation ($id: ID!) { delete__Resource__(id: $id) }`;
const ENTITIES = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on __Resource__ { id title author { id } } }
}`;

const WRITER = [
  Permission.__Resource__Read,
  Permission.__Resource__Create,
  Permission.__Resource__Update,
  Permission.__Resource__Delete,
];

/** The `x-test-user` header names the caller; without it the caller is a guest. */
const as = (userId: string): Record<string, string> => ({ 'x-test-user': userId });
const codeOf = (errors: GraphQLErrors): unknown => errors?.[0]?.extensions?.code;
const deniedPermission = (errors: GraphQLErrors): unknown => errors?.[0]?.extensions?.permission;

describe('__name__ module', () => {
  // What each caller holds mirrors roles an administrator would grant through authz.
  const [author, other, moderator, reader, nobody, admin] = Array.from({ length: 6 }, () => randomUUID());
  let handle: TestSubgraph<unknown, __Name__Services>;

  beforeAll(async () => {
    handle = await startTestSubgraph(__name__Module, {
      // Posts older than 30 days expire; a long count TTL, so a count that comes right after a
      // change can only come from the change's invalidation.
      overrides: { modules: { __name__: { retentionDays: 30, countCacheTtlSec: 600 } } },
      authenticate: (req) => {
        const id = req.headers['x-test-user'];
        return typeof id === 'string' ? { id } : undefined;
      },
      permissions: new StaticPermissions({
        byUser: {
          [author!]: WRITER,
          [other!]: WRITER,
          [moderator!]: [...WRITER, Permission.__Resource__Moderate],
          [reader!]: [Permission.__Resource__Read],
        },
        all: [admin!],
      }),
    });
  });

  afterAll(async () => {
    await handle?.stop();
  });

  const create = async (writer = author!, title = 'A title'): Promise<__Resource__View> => {
    const { body } = await handle.query<{ create__Resource__: __Resource__View }>(CREATE, { input: { title, content: 'Text.' } }, as(writer));
    if (body.errors) throw new Error(`create__Resource__ failed: ${JSON.stringify(body.errors)}`);
    return body.data!.create__Resource__;
  };
  const stored = (id: string) => handle.runtime.em().findOne(__Resource__, { id });
  const count = () => handle.runtime.em().count(__Resource__, {});
  /** What the module recorded in its outbox about one __resource__, oldest first. */
  const events = (id: string) =>
    handle.runtime
      .em()
      .execute<Array<{ topic: string; payload: Record<string, unknown>; meta: Record<string, unknown> }>>(
        `select topic, payload, meta from "${handle.runtime.db.schema}".outbox where payload->>'__resource__Id' = ? order by seq`,
        [id],
      );

  describe('create__Resource__', () => {
    it('writes a __resource__ by the caller, trims the title and records __name__.__resource__.created', async () => {
      const { body } = await handle.query<{ create__Resource__: __Resource__View }>(
        CREATE,
        { input: { title: '  Hello  ', content: 'First.\n' } },
        { ...as(author!), 'x-request-id': 'req-create' },
      );
      const created = body.data!.create__Resource__;
      expect(created).toEqual({
        id: expect.any(String),
        title: 'Hello',
        content: 'First.\n',
        createdAt: expect.any(String),
        updatedAt: created.createdAt,
        author: { id: author },
      });
      expect(await events(created.id)).toEqual([
        {
          topic: '__name__.__resource__.created',
          payload: { __resource__Id: created.id, authorId: author },
          meta: expect.objectContaining({ actorId: author, requestId: 'req-create' }),
        },
      ]);
    });

    it.each([
      ['a blank title', { title: '   ', content: 'Text.' }, ['title']],
      ['a title of 201 characters', { title: 'x'.repeat(201), content: 'Text.' }, ['title']],
      ['a title on two lines', { title: 'One\nTwo', content: 'Text.' }, ['title']],
      ['a blank content', { title: 'Title', content: ' \n ' }, ['content']],
      ['a NUL character in the content', { title: 'Title', content: 'a\u0000b' }, ['content']],
      ['a content of 100,001 characters', { title: 'Title', content: 'x'.repeat(100_001) }, ['content']],
    ])('refuses %s as BAD_USER_INPUT naming the field, and writes nothing', async (_case, input, fields) => {
      const before = await count();
      const { body } = await handle.query(CREATE, { input }, as(author!));
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
      expect((body.errors?.[0]?.extensions?.fields as Array<{ field: string }>).map((f) => f.field)).toEqual(fields);
      expect(await count()).toBe(before);
    });

    it.each([
      ['a guest', {}],
      ['a user without __name__.__resource__.create', as(reader!)],
    ])('is FORBIDDEN for %s, naming the permission, and writes nothing', async (_case, headers) => {
      const before = await count();
      const { body } = await handle.query(CREATE, { input: { title: 'Title', content: 'Text.' } }, headers);
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(deniedPermission(body.errors)).toBe(Permission.__Resource__Create);
      expect(await count()).toBe(before);
    });
  });

  describe('reading', () => {
    it('lets a reader read a __resource__ with its author; null when unknown, BAD_USER_INPUT when malformed', async () => {
      const created = await create();
      expect((await handle.query(GET, { id: created.id }, as(reader!))).body).toEqual({
        data: { __resource__: created },
      });
      expect((await handle.query(GET, { id: randomUUID() }, as(reader!))).body).toEqual({
        data: { __resource__: null },
      });
      expect(codeOf((await handle.query(GET, { id: 'nope' }, as(reader!))).body.errors)).toBe('BAD_USER_INPUT');
    });

    it('lists every __resource__ newest first, in pages without gaps or duplicates', async () => {
      await Promise.all([create(), create(), create()]);
      const seen: Array<{ id: string; createdAt: string }> = [];
      const totals = new Set<number>();
      let after: string | null = null;
      do {
        const { body } = await handle.query<{ __resources__: __Resources__Page }>(LIST, { first: 2, after }, as(reader!));
        const page: __Resources__Page = body.data!.__resources__;
        seen.push(...page.edges.map((edge) => edge.node));
        totals.add(page.totalCount);
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      expect([...totals]).toEqual([new Set(seen.map((row) => row.id)).size]);
      expect(seen.map((row) => row.createdAt)).toEqual(seen.map((row) => row.createdAt).sort().reverse());
    });

    it("lists one author's __resources__ with authorId", async () => {
      const writer = randomUUID();
      const em = handle.runtime.em();
      em.create(__Resource__, { title: 'Theirs', content: 'Theirs.', authorId: writer });
      await em.flush();
      const mine = await create(author!);
      const { body } = await handle.query<{ __resources__: __Resources__Page }>(LIST, { authorId: writer }, as(reader!));
      expect(body.data!.__resources__.totalCount).toBe(1);
      expect(body.data!.__resources__.edges.map((edge) => edge.node.id)).not.toContain(mine.id);
    });

    it.each([
      ['a forged cursor', { after: Buffer.from('2026-01-01T00:00:00.000Z|1 or 1=1').toString('base64url') }, 'after'],
      ['first > 100', { first: 101 }, 'first'],
    ])('refuses %s as BAD_USER_INPUT naming the argument', async (_case, variables, field) => {
      const { body } = await handle.query(LIST, variables, as(reader!));
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.extensions?.fields).toEqual([expect.objectContaining({ field })]);
    });

    it.each([
      ['a guest', {}],
      ['a user without __name__.__resource__.read', as(nobody!)],
    ])('is FORBIDDEN for %s, naming the permission', async (_case, headers) => {
      for (const query of [GET, LIST]) {
        const { body } = await handle.query(query, { id: randomUUID() }, headers);
        expect(codeOf(body.errors)).toBe('FORBIDDEN');
        expect(deniedPermission(body.errors)).toBe(Permission.__Resource__Read);
      }
    });
  });

  describe('update__Resource__ and delete__Resource__', () => {
    it('lets the author change the title, recording which fields changed; nothing when nothing changes', async () => {
      const created = await create();
      const { body } = await handle.query<{ update__Resource__: __Resource__View }>(
        UPDATE,
        { id: created.id, input: { title: 'Renamed', content: created.content } },
        as(author!),
      );
      expect(body.data!.update__Resource__).toMatchObject({ title: 'Renamed', content: created.content });
      await handle.query(UPDATE, { id: created.id, input: { title: 'Renamed' } }, as(author!));
      expect((await events(created.id)).map(({ topic, payload }) => ({ topic, payload }))).toEqual([
        { topic: '__name__.__resource__.created', payload: { __resource__Id: created.id, authorId: author } },
        {
          topic: '__name__.__resource__.updated',
          payload: { __resource__Id: created.id, authorId: author, changed: ['title'] },
        },
      ]);
    });

    it('refuses an empty change as BAD_USER_INPUT', async () => {
      const created = await create();
      const { body } = await handle.query(UPDATE, { id: created.id, input: {} }, as(author!));
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
    });

    it.each([
      ['another user, naming the moderate permission', other, Permission.__Resource__Moderate],
      ['a user without __name__.__resource__.update', nobody, Permission.__Resource__Update],
    ])('is FORBIDDEN to update for %s, and changes nothing', async (_case, caller, denied) => {
      const created = await create();
      const { body } = await handle.query(UPDATE, { id: created.id, input: { title: 'Mine now' } }, as(caller!));
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(deniedPermission(body.errors)).toBe(denied);
      expect((await stored(created.id))!.title).toBe(created.title);
    });

    it('lets the author delete, recording __name__.__resource__.deleted; a second time is NOT_FOUND', async () => {
      const created = await create();
      expect((await handle.query(DELETE, { id: created.id }, as(author!))).body).toEqual({
        data: { delete__Resource__: true },
      });
      expect(await stored(created.id)).toBeNull();
      expect((await events(created.id)).at(-1)).toEqual({
        topic: '__name__.__resource__.deleted',
        payload: { __resource__Id: created.id, authorId: author, reason: 'requested' },
        meta: expect.objectContaining({ actorId: author }),
      });
      expect(codeOf((await handle.query(DELETE, { id: created.id }, as(author!))).body.errors)).toBe('NOT_FOUND');
    });

    it.each([
      ['another user, naming the moderate permission', other, Permission.__Resource__Moderate],
      ['a user without __name__.__resource__.delete', nobody, Permission.__Resource__Delete],
    ])('is FORBIDDEN to delete for %s, and keeps the __resource__', async (_case, caller, denied) => {
      const created = await create();
      const { body } = await handle.query(DELETE, { id: created.id }, as(caller!));
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(deniedPermission(body.errors)).toBe(denied);
      expect(await stored(created.id)).not.toBeNull();
    });

    it.each([
      ['a moderator', moderator],
      ['an administrator (who holds every permission)', admin],
    ])("lets %s change and delete anyone's __resource__", async (_case, caller) => {
      const created = await create();
      const updated = await handle.query(UPDATE, { id: created.id, input: { content: 'Moderated.' } }, as(caller!));
      expect(updated.body.errors).toBeUndefined();
      expect((await handle.query(DELETE, { id: created.id }, as(caller!))).body.errors).toBeUndefined();
      expect(await stored(created.id)).toBeNull();
    });
  });

  describe('references from other subgraphs', () => {
    it('resolve for a reader, null for unknown or malformed ids', async () => {
      const created = await create();
      const representations = [created.id, randomUUID(), 'nope'].map((id) => ({ __typename: '__Resource__', id }));
      const { body } = await handle.query(ENTITIES, { representations }, as(reader!));
      expect(body).toEqual({
        data: { _entities: [{ id: created.id, title: created.title, author: { id: author } }, null, null] },
      });
    });

    it('are FORBIDDEN without __name__.__resource__.read, naming it', async () => {
      const created = await create();
      const representations = [{ __typename: '__Resource__', id: created.id }];
      const { body } = await handle.query(ENTITIES, { representations }, as(nobody!));
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(deniedPermission(body.errors)).toBe(Permission.__Resource__Read);
    });
  });

  describe('the cached totalCount', () => {
    const totalOf = async (authorId: string): Promise<number> => {
      const { body } = await handle.query<{ __resources__: __Resources__Page }>(LIST, { authorId }, as(reader!));
      return body.data!.__resources__.totalCount;
    };

    it('is counted once, and shows every creation and deletion through the API at once', async () => {
      const writer = author!;
      const before = await totalOf(writer);
      // Written behind the cache's back (no invalidation): the cached count does not see it yet.
      const em = handle.runtime.em();
      em.create(__Resource__, { title: 'Behind', content: 'Behind.', authorId: writer });
      await em.flush();
      expect(await totalOf(writer)).toBe(before);
      const created = await create(writer);
      expect(await totalOf(writer)).toBe(before + 2);
      expect((await handle.query(DELETE, { id: created.id }, as(writer))).body.errors).toBeUndefined();
      expect(await totalOf(writer)).toBe(before + 1);
    });
  });

  describe('the retention schedule', () => {
    /** A __resource__ by `authorId` created `days` ago, written directly. */
    const createdDaysAgo = async (authorId: string, days: number): Promise<string> => {
      const at = new Date(Date.now() - days * 86_400_000);
      const em = handle.runtime.em();
      const row = em.create(__Resource__, { title: 'Old', content: 'Old.', authorId, createdAt: at, updatedAt: at });
      await em.flush();
      return row.id;
    };

    it('runs delete-expired-__resources__, which deletes what is older than retentionDays with its event', async () => {
      expect(handle.runtime.manifest.schedules).toContainEqual(
        expect.objectContaining({ name: 'retention', handler: 'delete-expired-__resources__' }),
      );
      const writer = randomUUID();
      const expired = await createdDaysAgo(writer, 31);
      const kept = await createdDaysAgo(writer, 29);
      // Schedules do not tick in tests (jobs.runSchedules: false): the job is enqueued as a tick would.
      await handle.runtime.jobs.enqueue('delete-expired-__resources__', {});
      await waitFor(async () => (await stored(expired)) === null, 'the expired __resource__ to be deleted');
      expect(await stored(kept)).not.toBeNull();
      expect(await events(expired)).toEqual([
        {
          topic: '__name__.__resource__.deleted',
          payload: { __resource__Id: expired, authorId: writer, reason: 'expired' },
          meta: expect.any(Object),
        },
      ]);
    });
  });

  describe('on identity.user.deleted', () => {
    /** A __resource__ by `authorId`, written directly (the author holds no permission here). */
    const writtenBy = async (authorId: string): Promise<string> => {
      const em = handle.runtime.em();
      const row = em.create(__Resource__, { title: 'Theirs', content: 'Theirs.', authorId });
      await em.flush();
      return row.id;
    };
    const userDeleted = (userId: string) =>
      createEvent('identity', 'identity.user.deleted', { userId }, { actorId: admin, requestId: 'req-erase' });
    const countBy = (authorId: string) => handle.runtime.em().count(__Resource__, { authorId });

    it("deletes the user's __resources__ once, however often the event arrives, naming its cause", async () => {
      const gone = randomUUID();
      const mine = [await writtenBy(gone), await writtenBy(gone)];
      const kept = await writtenBy(randomUUID());
      const event = userDeleted(gone);
      await handle.runtime.bus.publish(event);
      await handle.runtime.bus.publish(event);
      // A group handles events in order: once a later one is done, both deliveries above are.
      const later = randomUUID();
      await writtenBy(later);
      await handle.runtime.bus.publish(userDeleted(later));
      await waitFor(async () => (await countBy(later)) === 0, 'the events to be handled');

      expect(await countBy(gone)).toBe(0);
      expect(await stored(kept)).not.toBeNull();
      for (const id of mine) {
        expect(await events(id)).toEqual([
          {
            topic: '__name__.__resource__.deleted',
            payload: { __resource__Id: id, authorId: gone, reason: 'author_deleted' },
            meta: expect.objectContaining({ actorId: admin, requestId: 'req-erase' }),
          },
        ]);
      }
    });
  });
});
