import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { StaticPermissions } from '@platform/kernel';
import { startTestSubgraph, type TestSubgraph } from '@platform/kernel/testing';
import audit from './module.js';
import { AuditEvent } from './audit-event/audit-event.entity.js';

/** A signed-in caller holding `audit.event.read`, and one without it. */
const CALLER = { 'x-test-user': randomUUID() };
const OUTSIDER = { 'x-test-user': randomUUID() };
const ACTOR = randomUUID();
const BASE = Date.UTC(2026, 0, 1);

interface EventsPage {
  auditEvents: {
    edges: Array<{ node: { id: string; action: string; occurredAt: string }; cursor: string }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    totalCount: number;
  };
}

const EVENTS = `query ($first: Int, $after: String) {
  auditEvents(first: $first, after: $after) {
    edges { node { id action occurredAt } cursor }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('audit module', () => {
  let handle: TestSubgraph;
  /** Ids newest first, as the API should return them. */
  const newestFirst: string[] = [];

  beforeAll(async () => {
    handle = await startTestSubgraph(audit, {
      authenticate: (req) => {
        const id = req.headers['x-test-user'];
        return typeof id === 'string' ? { id } : undefined;
      },
      permissions: new StaticPermissions({ byUser: { [CALLER['x-test-user']]: ['audit.event.read'] } }),
    });
    // No recording pipeline yet: rows go straight in. Events 3 and 4 share a timestamp, so
    // the id tie-break is exercised too.
    const em = handle.runtime.em();
    let previous = '0'.repeat(64);
    const events = [0, 1, 2, 3, 3].map((minute, index) => {
      const occurredAt = new Date(BASE + minute * 60_000);
      const action = `test.thing.step${index}`;
      previous = sha256(`${previous}|${action}|${occurredAt.toISOString()}`);
      return em.create(AuditEvent, {
        action,
        actorId: index === 0 ? null : ACTOR,
        targetType: 'thing',
        targetId: String(index),
        metadata: { index, nested: { ok: true }, tags: ['a', 'b'] },
        requestId: `req-${index}`,
        traceId: 'a'.repeat(32),
        ip: '127.0.0.1',
        userAgent: 'jest',
        occurredAt,
        hash: previous,
      });
    });
    await em.flush();
    events
      .sort((a, b) => b.occurredAt.getTime() - a.occurredAt.getTime() || (a.id < b.id ? 1 : -1))
      .forEach((event) => newestFirst.push(event.id));
  });

  afterAll(async () => {
    await handle?.stop();
  });

  describe('auditEvents', () => {
    it.each([
      ['anonymous callers', {}],
      ['signed-in callers without audit.event.read', OUTSIDER],
    ])('is FORBIDDEN for %s', async (_case, headers) => {
      const { body } = await handle.query(EVENTS, undefined, headers);
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'audit.event.read' });
      expect(body.data ?? null).toBeNull();
    });

    it('lists every field for callers with audit.event.read', async () => {
      const { body } = await handle.query(
        `{ auditEvents(first: 1) { edges { node {
            id action actor { id } targetType targetId metadata requestId traceId ip userAgent occurredAt hash
          } } } }`,
        undefined,
        CALLER,
      );
      expect(body.errors).toBeUndefined();
      const node = (body.data as { auditEvents: { edges: Array<{ node: Record<string, unknown> }> } }).auditEvents
        .edges[0]!.node;
      expect(node).toEqual({
        id: newestFirst[0],
        action: expect.stringMatching(/^test\.thing\.step[34]$/),
        actor: { id: ACTOR },
        targetType: 'thing',
        targetId: expect.any(String),
        metadata: { index: expect.any(Number), nested: { ok: true }, tags: ['a', 'b'] },
        requestId: expect.stringMatching(/^req-/),
        traceId: 'a'.repeat(32),
        ip: '127.0.0.1',
        userAgent: 'jest',
        occurredAt: new Date(BASE + 3 * 60_000).toISOString(),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
    });

    it('has no actor for system events', async () => {
      const { body } = await handle.query(
        `{ auditEvents(first: 100) { edges { node { action actor { id } } } } }`,
        undefined,
        CALLER,
      );
      const edges = (body.data as { auditEvents: { edges: Array<{ node: { action: string; actor: unknown } }> } })
        .auditEvents.edges;
      expect(edges.find((e) => e.node.action === 'test.thing.step0')?.node.actor).toBeNull();
    });

    it('pages newest first by occurredAt, ties broken by id', async () => {
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      do {
        const response: { body: { data?: EventsPage } } = await handle.query<EventsPage>(
          EVENTS,
          { first: 2, after },
          CALLER,
        );
        const page: EventsPage['auditEvents'] = response.body.data!.auditEvents;
        expect(page.totalCount).toBe(5);
        seen.push(...page.edges.map((e) => e.node.id));
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
        pages++;
      } while (after && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(newestFirst);
    });

    it.each([
      ['a malformed cursor', { after: 'not-a-cursor' }, 'after'],
      ['first = 0', { first: 0 }, 'first'],
      ['first > 100', { first: 500 }, 'first'],
    ])('rejects %s as BAD_USER_INPUT', async (_case, variables, field) => {
      const { body } = await handle.query(EVENTS, variables, CALLER);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.extensions?.fields).toEqual([expect.objectContaining({ field })]);
    });
  });

  describe('_entities', () => {
    const ENTITIES = `query ($representations: [_Any!]!) {
      _entities(representations: $representations) { ... on AuditEvent { id action } }
    }`;

    it('resolves events for callers with audit.event.read', async () => {
      const { body } = await handle.query(
        ENTITIES,
        {
          representations: [
            { __typename: 'AuditEvent', id: newestFirst[4] },
            { __typename: 'AuditEvent', id: randomUUID() },
            { __typename: 'AuditEvent', id: 'not-a-uuid' },
          ],
        },
        CALLER,
      );
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ _entities: [{ id: newestFirst[4], action: 'test.thing.step0' }, null, null] });
    });

    it.each([
      ['anonymous callers', {}],
      ['signed-in callers without audit.event.read', OUTSIDER],
    ])('resolves nothing for %s: FORBIDDEN', async (_case, headers) => {
      const { body } = await handle.query(
        ENTITIES,
        { representations: [{ __typename: 'AuditEvent', id: newestFirst[0] }] },
        headers,
      );
      expect(body.data).toEqual({ _entities: [null] });
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'audit.event.read' });
    });
  });
});
