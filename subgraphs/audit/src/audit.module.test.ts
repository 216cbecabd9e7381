import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { type PlatformEvent } from '@platform/kernel';
import { createEvent } from '@platform/kernel/testing';
import {
  as,
  asSuperuser,
  codeOf,
  event,
  fieldsOf,
  newCallers,
  publishAndWait,
  recordCount,
  startAudit,
  tablesOf,
  type AuditTestHandle,
} from './__tests__/start-audit.js';
import { mapEvent } from './recording/event-mapping.js';
import { REDACTED } from './recording/scrub.js';

const BASE = Date.UTC(2001, 0, 1);
const at = (minute: number): string => new Date(BASE + minute * 60_000).toISOString();
const USER = randomUUID();
const ADMIN = randomUUID();
const SESSION = randomUUID();
const ROLE = randomUUID();
const POST = randomUUID();
const CLIENT = { ip: '10.1.2.3', userAgent: 'jest-agent' };

/** One of everything, a minute apart, in 2001 (so time filters see only these). */
const STORY: PlatformEvent[] = [
  event(
    'identity.user.created',
    { userId: USER, email: 'u@example.com', displayName: 'U', via: 'registration' },
    { actorId: USER, requestId: 'req-register', ...CLIENT },
  ),
  event('identity.login.failed', { userId: null, reason: 'unknown_email' }, { requestId: 'req-fail', ...CLIENT }),
  event('identity.login.succeeded', { userId: USER, sessionId: SESSION }, { actorId: USER, ...CLIENT }),
  event('authz.role.created', { roleId: ROLE, name: 'editor' }, { actorId: ADMIN }),
  event('authz.assignment.created', { userId: USER, roleId: ROLE, roleName: 'editor' }, { actorId: ADMIN }),
  event('blog.post.created', { postId: POST, authorId: USER }, { actorId: USER }),
  event('blog.post.updated', { postId: POST, authorId: USER, changed: ['title'] }, { actorId: USER }),
  event(
    'identity.session.revoked',
    { userId: USER, sessionId: SESSION, reason: 'logout' },
    { actorId: USER, requestId: 'req-logout', traceId: 'c'.repeat(32), ...CLIENT },
  ),
].map((e, minute) => ({ ...e, occurredAt: at(minute) }));

interface Page {
  edges: Array<{ node: { id: string; action: string }; cursor: string }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

const EVENTS = `query ($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    edges { node { id action } cursor }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;
const VERIFY = `{ verifyAuditChain { valid checked firstBrokenId reason } }`;

describe('audit module', () => {
  const callers = newCallers();
  let handle: AuditTestHandle;
  /** Record id of each STORY event, by event id. */
  const recordOf = new Map<string, string>();

  const page = async (variables: Record<string, unknown>, caller = callers.reader): Promise<Page> => {
    const { body } = await handle.query<{ auditEvents: Page }>(EVENTS, variables, as(caller));
    expect(body.errors).toBeUndefined();
    return body.data!.auditEvents;
  };
  /** Every record id, as the API should list them: most recently recorded first. */
  const newestFirst = async (): Promise<string[]> =>
    (
      await handle.runtime
        .em()
        .execute<Array<{ id: string }>>(`select id from ${tablesOf(handle).events} order by seq desc`)
    ).map((row) => row.id);
  const verify = async () => {
    const { body } = await handle.query<{
      verifyAuditChain: { valid: boolean; checked: number; firstBrokenId: string | null; reason: string | null };
    }>(VERIFY, undefined, as(callers.auditor));
    expect(body.errors).toBeUndefined();
    return body.data!.verifyAuditChain;
  };

  beforeAll(async () => {
    handle = await startAudit(callers);
    await publishAndWait(handle, STORY);
    const rows = await handle.runtime
      .em()
      .execute<Array<{ id: string; event_id: string }>>(`select id, event_id from ${tablesOf(handle).events}`);
    for (const row of rows) recordOf.set(row.event_id, row.id);
  });

  afterAll(async () => {
    await handle?.stop();
  });

  describe('recording', () => {
    it('records each declared event in the order it arrived, with everything its meta says', async () => {
      const { body } = await handle.query<{ auditEvents: { edges: Array<{ node: Record<string, unknown> }> } }>(
        `{ auditEvents(filter: { action: "identity.session.revoked" }) { edges { node {
            id eventId action actor { id } targetType targetId metadata requestId traceId ip userAgent occurredAt recordedAt hash
        } } } }`,
        undefined,
        as(callers.reader),
      );
      expect(body.errors).toBeUndefined();
      const revoked = STORY[7]!;
      expect(body.data!.auditEvents.edges.map((e) => e.node)).toEqual([
        {
          id: recordOf.get(revoked.id),
          eventId: revoked.id,
          action: 'identity.session.revoked',
          actor: { id: USER },
          targetType: 'session',
          targetId: SESSION,
          metadata: { userId: USER, sessionId: SESSION, reason: 'logout' },
          requestId: 'req-logout',
          traceId: 'c'.repeat(32),
          ip: CLIENT.ip,
          userAgent: CLIENT.userAgent,
          occurredAt: at(7),
          recordedAt: expect.any(String),
          hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        },
      ]);
      const order = await handle.runtime
        .em()
        .execute<Array<{ event_id: string }>>(`select event_id from ${tablesOf(handle).events} order by seq`);
      expect(order.map((row) => row.event_id).slice(0, STORY.length)).toEqual(STORY.map((e) => e.id));
    });

    it('has no actor for what nobody signed in did', async () => {
      const { body } = await handle.query<{ auditEvents: { edges: Array<{ node: { actor: unknown } }> } }>(
        `{ auditEvents(filter: { action: "identity.login.failed", from: "${at(0)}", to: "${at(10)}" }) { edges { node { actor { id } metadata } } } }`,
        undefined,
        as(callers.reader),
      );
      expect(body.data!.auditEvents.edges).toEqual([
        { node: { actor: null, metadata: { userId: null, reason: 'unknown_email' } } },
      ]);
    });

    it('records a redelivered event once, however many times and however concurrently it arrives', async () => {
      const before = await recordCount(handle);
      const again = STORY[5]!;
      const fresh = event('blog.post.deleted', { postId: POST, authorId: USER, reason: 'requested' });
      await Promise.all([
        handle.services.consumer.handle(fresh),
        handle.services.consumer.handle(fresh),
        handle.services.consumer.handle(again),
      ]);
      await handle.runtime.bus.publish([again, fresh, fresh]);
      await publishAndWait(handle, [event('blog.post.created', { postId: randomUUID(), authorId: USER })]);
      expect(await recordCount(handle)).toBe(before + 2);
      expect(await handle.services.recorder.append(mapEvent(again).draft)).toEqual({
        recorded: false,
        existingId: recordOf.get(again.id),
      });
    });

    it('never stores secrets, even from a module that sends them', async () => {
      // createEvent refuses secret-looking keys, so this event is made by hand, as a buggy module might.
      const leaky: PlatformEvent = {
        ...createEvent('identity', 'identity.user.updated', { userId: USER, changed: ['password'] }),
        payload: {
          userId: USER,
          changed: ['password'],
          password: 'hunter2-plain',
          detail: { refreshToken: 'rt-secret', note: 'Bearer at-secret' },
        },
      };
      await publishAndWait(handle, [leaky]);
      const [row] = await handle.runtime
        .em()
        .execute<Array<{ metadata: string }>>(
          `select metadata::text as metadata from ${tablesOf(handle).events} where event_id = ?`,
          [leaky.id],
        );
      expect(row!.metadata).not.toMatch(/hunter2|rt-secret|at-secret/);
      expect(JSON.parse(row!.metadata)).toEqual({
        userId: USER,
        changed: ['password'],
        password: REDACTED,
        detail: { refreshToken: REDACTED, note: REDACTED },
      });
    });

    it('records nothing for events no module declares', async () => {
      const stray = createEvent('test', 'test.thing.happened', { thingId: 't' });
      const marker = event('authz.role.updated', { roleId: ROLE, name: 'editor2', changed: ['name'] });
      await publishAndWait(handle, [stray, marker], 1);
      const [row] = await handle.runtime
        .em()
        .execute<Array<{ n: number }>>(
          `select count(*)::int as n from ${tablesOf(handle).events} where action like 'test.%'`,
        );
      expect(row!.n).toBe(0);
    });

    it('keeps the chain linear when appends race', async () => {
      const drafts = Array.from(
        { length: 20 },
        (_, i) => mapEvent(event('blog.post.created', { postId: randomUUID(), authorId: USER, i })).draft,
      );
      const results = await Promise.all(drafts.map((draft) => handle.services.recorder.append(draft)));
      const seqs = results.map((result) => (result.recorded ? result.record.seq : -1)).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => seqs[0]! + i));
      expect(await verify()).toMatchObject({ valid: true, firstBrokenId: null });
    });
  });

  describe('auditEvents', () => {
    it.each([
      ['anonymous callers', {}],
      ['signed-in callers without audit.event.read', as(callers.nobody)],
    ])('is FORBIDDEN for %s', async (_case, headers) => {
      const { body } = await handle.query(EVENTS, {}, headers);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'audit.event.read' });
      expect(body.data ?? null).toBeNull();
    });

    it('pages through everything, most recently recorded first', async () => {
      const expected = await newestFirst();
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const current: Page = await page({ first: 7, after });
        expect(current.totalCount).toBe(expected.length);
        seen.push(...current.edges.map((edge) => edge.node.id));
        after = current.pageInfo.hasNextPage ? current.pageInfo.endCursor : null;
      } while (after);
      expect(seen).toEqual(expected);
    });

    it('keeps a cursor valid while events arrive: no duplicates, no gaps', async () => {
      const before = await newestFirst();
      const first = await page({ first: 3 });
      expect(first.edges.map((e) => e.node.id)).toEqual(before.slice(0, 3));

      const arriving = [1, 2, 3, 4].map(() => event('blog.post.created', { postId: randomUUID(), authorId: USER }));
      await publishAndWait(handle, arriving);

      const rest: string[] = [];
      let after: string | null = first.pageInfo.endCursor;
      while (after) {
        const current: Page = await page({ first: 3, after });
        rest.push(...current.edges.map((e) => e.node.id));
        after = current.pageInfo.hasNextPage ? current.pageInfo.endCursor : null;
      }
      expect(rest).toEqual(before.slice(3));
      // The new ones are on top, for whoever starts again.
      const top = await page({ first: 4 });
      expect(top.edges.map((e) => e.node.action)).toEqual(Array(4).fill('blog.post.created'));
      expect(top.edges.map((e) => e.node.id)).not.toContain(before[0]);
    });

    const story = (indexes: number[]): string[] => indexes.map((i) => recordOf.get(STORY[i]!.id)!).reverse();

    it.each<[string, Record<string, unknown>, number[]]>([
      ['a time range (from inclusive, to exclusive)', { from: at(2), to: at(5) }, [2, 3, 4]],
      ['an actor', { actorId: ADMIN.toUpperCase() }, [3, 4]],
      ['an action', { action: 'identity.login.succeeded', from: at(0), to: at(60) }, [2]],
      ['an action prefix: a module', { actionPrefix: 'identity', from: at(0), to: at(60) }, [0, 1, 2, 7]],
      ['an action prefix: a resource', { actionPrefix: 'identity.login.', from: at(0), to: at(60) }, [1, 2]],
      ['an action prefix is whole segments', { actionPrefix: 'ident', from: at(0), to: at(60) }, []],
      ['a target', { targetType: 'post', targetId: POST, to: at(60) }, [5, 6]],
      ['a target type and an actor', { targetType: 'user', actorId: USER, to: at(60) }, [0, 2]],
    ])('filters by %s', async (_case, filter, indexes) => {
      const result = await page({ filter, first: 100 });
      expect(result.edges.map((e) => e.node.id)).toEqual(story(indexes));
      expect(result.totalCount).toBe(indexes.length);
    });

    it('pages within a filter', async () => {
      const first = await page({ filter: { actionPrefix: 'identity', to: at(60) }, first: 3 });
      expect(first.pageInfo.hasNextPage).toBe(true);
      const second = await page({
        filter: { actionPrefix: 'identity', to: at(60) },
        first: 3,
        after: first.pageInfo.endCursor,
      });
      expect([...first.edges, ...second.edges].map((e) => e.node.id)).toEqual(story([0, 1, 2, 7]));
      expect(second.pageInfo).toEqual({ hasNextPage: false, endCursor: second.edges[0]!.cursor });
    });

    it.each<[string, Record<string, unknown>, string[]]>([
      ['an actor id that is not a uuid', { filter: { actorId: 'someone' } }, ['filter.actorId']],
      ['a malformed action', { filter: { action: 'Identity.Login' } }, ['filter.action']],
      ['an action prefix with a wildcard', { filter: { actionPrefix: 'identity.%' } }, ['filter.actionPrefix']],
      ['an empty target type', { filter: { targetType: '' } }, ['filter.targetType']],
      ['an overlong target id', { filter: { targetId: 'x'.repeat(129) } }, ['filter.targetId']],
      ['a range that ends before it starts', { filter: { from: at(5), to: at(5) } }, ['filter.to']],
      ['several problems at once', { filter: { actorId: 'x', action: 'y' } }, ['filter.actorId', 'filter.action']],
      ['a malformed cursor', { after: 'not-a-cursor' }, ['after']],
      ['first = 0', { first: 0 }, ['first']],
      ['first > 100', { first: 500 }, ['first']],
    ])('rejects %s as BAD_USER_INPUT naming the field', async (_case, variables, fields) => {
      const { body } = await handle.query(EVENTS, variables, as(callers.reader));
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
      expect(fieldsOf(body.errors)).toEqual(fields);
      expect(body.data ?? null).toBeNull();
    });

    it('rejects a date that is not one as BAD_USER_INPUT', async () => {
      const { body } = await handle.query(EVENTS, { filter: { from: 'last tuesday' } }, as(callers.reader));
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toContain('from');
    });
  });

  describe('verifyAuditChain', () => {
    it.each([
      ['anonymous callers', {}],
      ['callers who may only read', as(callers.reader)],
    ])('is FORBIDDEN for %s', async (_case, headers) => {
      const { body } = await handle.query(VERIFY, undefined, headers);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'audit.event.verify' });
    });

    it('checks every record for callers with audit.event.verify', async () => {
      expect(await verify()).toEqual({
        valid: true,
        checked: await recordCount(handle),
        firstBrokenId: null,
        reason: null,
      });
    });

    it('names a record changed behind the service (triggers off, as a superuser)', async () => {
      const target = recordOf.get(STORY[3]!.id)!;
      const { events } = tablesOf(handle);
      const [original] = await handle.runtime
        .em()
        .execute<Array<{ metadata: string }>>(`select metadata::text as metadata from ${events} where id = ?`, [
          target,
        ]);
      await asSuperuser(
        handle,
        events,
        `update ${events} set metadata = '{"roleId":"x","name":"admin"}' where id = ?`,
        [target],
      );
      expect(await verify()).toMatchObject({
        valid: false,
        firstBrokenId: target,
        reason: expect.stringMatching(/changed/),
      });

      await asSuperuser(handle, events, `update ${events} set metadata = ?::jsonb where id = ?`, [
        original!.metadata,
        target,
      ]);
      expect(await verify()).toMatchObject({ valid: true });
    });

    it('names the record after one deleted from the middle, and notices records deleted from the end', async () => {
      const { events } = tablesOf(handle);
      const saved = `"${handle.runtime.db.schema}"."saved_records"`;
      const rows = await handle.runtime.em().execute<Array<{ id: string }>>(`select id from ${events} order by seq`);
      const copy = `create table ${saved} as select * from ${events} where id in (?, ?)`;
      const middle = rows[4]!;
      const last = rows.at(-1)!;
      await handle.runtime.em().transactional(async (tx) => {
        await tx.execute(copy, [middle.id, last.id]);
        await tx.execute(`alter table ${events} disable trigger user`);
        await tx.execute(`delete from ${events} where id = ?`, [middle.id], 'run');
        await tx.execute(`alter table ${events} enable trigger user`);
      });
      expect(await verify()).toMatchObject({
        valid: false,
        firstBrokenId: rows[5]!.id,
        reason: expect.stringMatching(/missing/),
      });

      await asSuperuser(handle, events, `insert into ${events} select * from ${saved} where id = ?`, [middle.id]);
      await asSuperuser(handle, events, `delete from ${events} where id = ?`, [last.id]);
      expect(await verify()).toMatchObject({ valid: false, reason: expect.stringMatching(/missing from the end/) });

      await asSuperuser(handle, events, `insert into ${events} select * from ${saved} where id = ?`, [last.id]);
      await handle.runtime.em().execute(`drop table ${saved}`);
      expect(await verify()).toMatchObject({ valid: true });
    });
  });

  describe('append-only storage', () => {
    it.each([
      ['UPDATE', (t: string) => `update ${t} set action = 'blog.post.deleted'`],
      ['DELETE', (t: string) => `delete from ${t}`],
      ['TRUNCATE', (t: string) => `truncate ${t}`],
    ])("refuses %s of records from the service's own connection", async (_op, sql) => {
      const before = await recordCount(handle);
      await expect(handle.runtime.em().execute(sql(tablesOf(handle).events))).rejects.toThrow(/append-only/);
      expect(await recordCount(handle)).toBe(before);
    });

    it('refuses a DELETE in a transaction that claims to prune, for records no checkpoint covers', async () => {
      const { events } = tablesOf(handle);
      await expect(
        handle.runtime.em().transactional(async (tx) => {
          await tx.execute(`select set_config('audit.prune', 'on', true)`);
          await tx.execute(`delete from ${events}`);
        }),
      ).rejects.toThrow(/append-only/);
    });

    it('refuses to rewind the chain head or to change checkpoints', async () => {
      const { head, checkpoints } = tablesOf(handle);
      await expect(handle.runtime.em().execute(`update ${head} set seq = 0`)).rejects.toThrow(/only moves forward/);
      await expect(handle.runtime.em().execute(`delete from ${head}`)).rejects.toThrow(/only moves forward/);
      await expect(handle.runtime.em().execute(`truncate ${checkpoints}`)).rejects.toThrow(/append-only/);
      expect(await verify()).toMatchObject({ valid: true });
    });
  });

  describe('_entities', () => {
    const ENTITIES = `query ($representations: [_Any!]!) {
      _entities(representations: $representations) { ... on AuditEvent { id action } }
    }`;

    it('resolves events for callers with audit.event.read', async () => {
      const id = recordOf.get(STORY[0]!.id)!;
      const { body } = await handle.query(
        ENTITIES,
        {
          representations: [
            { __typename: 'AuditEvent', id },
            { __typename: 'AuditEvent', id: randomUUID() },
            { __typename: 'AuditEvent', id: 'not-a-uuid' },
          ],
        },
        as(callers.reader),
      );
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ _entities: [{ id, action: 'identity.user.created' }, null, null] });
    });

    it.each([
      ['anonymous callers', {}],
      ['signed-in callers without audit.event.read', as(callers.nobody)],
    ])('resolves nothing for %s: FORBIDDEN', async (_case, headers) => {
      const { body } = await handle.query(
        ENTITIES,
        { representations: [{ __typename: 'AuditEvent', id: recordOf.get(STORY[0]!.id) }] },
        headers,
      );
      expect(body.data).toEqual({ _entities: [null] });
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'audit.event.read' });
    });
  });
});
