import { beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { as, codeOf, event, fieldsOf, publishAndWait, type AuditTestHandle } from './__tests__/start-audit.js';
import { ADMIN, at, EVENTS, POST, STORY, USER, storySuite, type Page } from './__tests__/audit-story.js';

describe('audit module: auditEvents', () => {
  const story = storySuite();
  const { callers, recordOf, page, newestFirst } = story;
  let handle: AuditTestHandle;
  beforeAll(() => {
    handle = story.handle();
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
});
