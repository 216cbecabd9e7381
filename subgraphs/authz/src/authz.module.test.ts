import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { startAuthz, type AuthzTestHandle } from './__tests__/start-authz.js';
import { Role } from './role/role.entity.js';
import { ensureBuiltInRoles } from './role/role.service.js';

const CALLER = { 'x-test-user': randomUUID() };

interface RolesPage {
  roles: {
    edges: Array<{ node: { id: string; name: string; builtIn: boolean }; cursor: string }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    totalCount: number;
  };
}

const ROLES = `query ($first: Int, $after: String) {
  roles(first: $first, after: $after) {
    edges { node { id name builtIn } cursor }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}`;

describe('authz module', () => {
  let handle: AuthzTestHandle;
  let editorId: string;

  beforeAll(async () => {
    handle = await startAuthz({
      authenticate: (req) => {
        const id = req.headers['x-test-user'];
        return typeof id === 'string' ? { id } : undefined;
      },
    });
    const em = handle.runtime.em();
    // Later than the built-ins, so it is first in newest-first order.
    const editor = em.create(Role, {
      name: 'editor',
      description: 'Edits posts',
      createdAt: new Date(Date.now() + 60_000),
    });
    await em.flush();
    editorId = editor.id;
  });

  afterAll(async () => {
    await handle?.stop();
  });

  describe('built-in roles', () => {
    it('exist after start', async () => {
      const roles = await handle.runtime.em().find(Role, { builtIn: true }, { orderBy: { name: 'asc' } });
      expect(roles.map((r) => [r.name, r.description])).toEqual([
        ['admin', 'Every permission'],
        ['guest', 'Anonymous callers'],
        ['user', 'Every registered user'],
      ]);
    });

    it('are ensured idempotently, even by concurrent starts', async () => {
      await handle.runtime.em().nativeDelete(Role, { name: 'guest' });
      await Promise.all([ensureBuiltInRoles(handle.runtime.em()), ensureBuiltInRoles(handle.runtime.em())]);
      expect(await ensureBuiltInRoles(handle.runtime.em())).toEqual([]);
      expect(await handle.runtime.em().count(Role, { builtIn: true })).toBe(3);
    });
  });

  describe('roles', () => {
    it('is UNAUTHENTICATED for anonymous callers', async () => {
      const { body } = await handle.query(ROLES);
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(body.data ?? null).toBeNull();
    });

    it('lists roles newest first for signed-in callers, page by page', async () => {
      const first = await handle.query<RolesPage>(ROLES, { first: 2 }, CALLER);
      expect(first.body.errors).toBeUndefined();
      const page1 = first.body.data!.roles;
      expect(page1.totalCount).toBe(4);
      expect(page1.edges).toHaveLength(2);
      expect(page1.edges[0]!.node).toEqual({ id: editorId, name: 'editor', builtIn: false });
      expect(page1.pageInfo).toEqual({ hasNextPage: true, endCursor: page1.edges[1]!.cursor });

      const second = await handle.query<RolesPage>(ROLES, { first: 2, after: page1.pageInfo.endCursor }, CALLER);
      const page2 = second.body.data!.roles;
      expect(page2.edges).toHaveLength(2);
      expect(page2.pageInfo.hasNextPage).toBe(false);
      const names = [...page1.edges, ...page2.edges].map((e) => e.node.name).sort();
      expect(names).toEqual(['admin', 'editor', 'guest', 'user']);
    });

    it.each([
      ['a malformed cursor', { after: 'garbage' }, 'after'],
      ['first = 0', { first: 0 }, 'first'],
      ['first > 100', { first: 101 }, 'first'],
    ])('rejects %s as BAD_USER_INPUT', async (_case, variables, field) => {
      const { body } = await handle.query(ROLES, variables, CALLER);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.extensions?.fields).toEqual([expect.objectContaining({ field })]);
    });
  });

  describe('role', () => {
    const ROLE = `query ($id: ID!) { role(id: $id) { id name description builtIn createdAt } }`;

    it('is UNAUTHENTICATED for anonymous callers', async () => {
      const { body } = await handle.query(ROLE, { id: editorId });
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('reads one role for signed-in callers', async () => {
      const { body } = await handle.query(ROLE, { id: editorId }, CALLER);
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({
        role: {
          id: editorId,
          name: 'editor',
          description: 'Edits posts',
          builtIn: false,
          createdAt: expect.any(String),
        },
      });
    });

    it('is null when unknown', async () => {
      const { body } = await handle.query(ROLE, { id: randomUUID() }, CALLER);
      expect(body.data).toEqual({ role: null });
    });

    it('rejects an id that is not a UUID as BAD_USER_INPUT', async () => {
      const { body } = await handle.query(ROLE, { id: 'admin' }, CALLER);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    });
  });

  describe('_entities', () => {
    const ENTITIES = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Role { id name } } }`;

    it('resolves roles for signed-in callers', async () => {
      const { body } = await handle.query(
        ENTITIES,
        {
          representations: [
            { __typename: 'Role', id: editorId },
            { __typename: 'Role', id: randomUUID() },
          ],
        },
        CALLER,
      );
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ _entities: [{ id: editorId, name: 'editor' }, null] });
    });

    it('resolves nothing for anonymous callers', async () => {
      const { body } = await handle.query(ENTITIES, { representations: [{ __typename: 'Role', id: editorId }] });
      expect(body.data).toEqual({ _entities: [null] });
    });
  });
});
