import { beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { createEvent } from '@platform/kernel/testing';
import type { PlatformEvent } from '@platform/kernel';
import { as, event, publishAndWait, recordCount, tablesOf, type AuditTestHandle } from './__tests__/start-audit.js';
import { at, CLIENT, POST, ROLE, SESSION, STORY, USER, storySuite } from './__tests__/audit-story.js';
import { mapEvent } from './recording/event-mapping.js';
import { REDACTED } from './recording/scrub.js';

describe('audit module: recording', () => {
  const story = storySuite();
  const { callers, recordOf, verify } = story;
  let handle: AuditTestHandle;
  beforeAll(() => {
    handle = story.handle();
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
