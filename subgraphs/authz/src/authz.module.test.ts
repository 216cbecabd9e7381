import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { SERVICE_CREDENTIAL_HEADER, serviceCredential, serviceSecret } from '@platform/kernel/gateway';
import { startAuthz, type AuthzTestHandle } from './__tests__/start-authz.js';
import { PERMISSION_CATALOGUE } from './catalogue.generated.js';
import { PLATFORM } from './grant/delegation.js';
import { RolePermission } from './grant/grant.entity.js';
import { Role } from './role/role.entity.js';

/** Callers are named by a test header; what they may do comes from authz's own tables. */
const ADMIN = randomUUID();
const MEMBER = randomUUID();
const OTHER = randomUUID();
const as = (userId: string): Record<string, string> => ({ 'x-test-user': userId });

type Errors = Array<{ message: string; extensions?: Record<string, unknown> }> | undefined;

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
const CREATE = `mutation ($input: CreateRoleInput!) { createRole(input: $input) { id name description permissions builtIn } }`;
const UPDATE = `mutation ($id: ID!, $input: UpdateRoleInput!) { updateRole(id: $id, input: $input) { id name description updatedAt } }`;
const DELETE = `mutation ($id: ID!) { deleteRole(id: $id) }`;
const GRANT = `mutation ($roleId: ID!, $permissions: [String!]!) { grantPermissions(roleId: $roleId, permissions: $permissions) { name permissions } }`;
const REVOKE = `mutation ($roleId: ID!, $permission: String!) { revokePermission(roleId: $roleId, permission: $permission) { name permissions } }`;
const ASSIGN = `mutation ($userId: ID!, $roleId: ID!) { assignRole(userId: $userId, roleId: $roleId) { id roles { name } permissions } }`;
const UNASSIGN = `mutation ($userId: ID!, $roleId: ID!) { unassignRole(userId: $userId, roleId: $roleId) { id roles { name } } }`;
const USER_ACCESS = `query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on User { id roles { name } permissions } }
}`;

const codeOf = (errors: Errors): unknown => errors?.[0]?.extensions?.code;

describe('authz module', () => {
  let handle: AuthzTestHandle;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    handle = await startAuthz({
      authenticate: (req) => {
        const id = req.headers['x-test-user'];
        return typeof id === 'string' ? { id } : undefined;
      },
    });
    const em = handle.runtime.em();
    const { assignments } = handle.services;
    for (const user of [ADMIN, MEMBER, OTHER]) {
      await assignments.rememberUser(em, user);
      await assignments.assignRole(em, user, 'user', PLATFORM);
    }
    await assignments.assignRole(em, ADMIN, 'admin', PLATFORM);
    for (const role of await em.find(Role, {})) ids[role.name] = role.id;
  });

  afterAll(async () => {
    await handle?.stop();
  });

  const outboxTopics = async (): Promise<Array<{ topic: string; payload: Record<string, unknown> }>> =>
    handle.runtime
      .em()
      .execute(
        `select topic, payload from "${handle.runtime.db.schema}".outbox where topic like 'authz.%' order by seq`,
      );

  describe('built-in roles', () => {
    it('exist after start with the grants of a fresh install', async () => {
      const { body } = await handle.query<{ roles: { edges: Array<{ node: Record<string, unknown> }> } }>(
        `{ roles { edges { node { name builtIn grantsAll permissions } } } }`,
        {},
        as(ADMIN),
      );
      expect(body.errors).toBeUndefined();
      const byName = Object.fromEntries(body.data!.roles.edges.map(({ node }) => [node.name, node]));
      expect(byName.admin).toEqual({
        name: 'admin',
        builtIn: true,
        grantsAll: true,
        permissions: PERMISSION_CATALOGUE.map((p) => p.name).sort(),
      });
      expect(byName.user).toEqual({
        name: 'user',
        builtIn: true,
        grantsAll: false,
        permissions: ['blog.post.create', 'blog.post.delete', 'blog.post.read', 'blog.post.update'],
      });
      expect(byName.guest).toEqual({ name: 'guest', builtIn: true, grantsAll: false, permissions: ['blog.post.read'] });
    });

    it('are ensured idempotently, even by concurrent starts, without touching existing grants', async () => {
      const em = handle.runtime.em();
      const guestId = (await em.findOneOrFail(Role, { name: 'guest' })).id;
      await em.nativeDelete(Role, { name: 'guest' });
      const [a, b] = await Promise.all([
        handle.services.builtInRoles.ensure(handle.runtime.em()),
        handle.services.builtInRoles.ensure(handle.runtime.em()),
      ]);
      expect([...a, ...b]).toEqual(['guest']);
      expect(await handle.services.builtInRoles.ensure(handle.runtime.em())).toEqual([]);
      const guest = await handle.runtime.em().findOneOrFail(Role, { name: 'guest' });
      expect(guest.id).not.toBe(guestId);
      ids.guest = guest.id;
      expect(await handle.runtime.em().count(RolePermission, { role: guest.id })).toBe(1);
      expect(await handle.runtime.em().count(Role, { builtIn: true })).toBe(3);
    });
  });

  describe('reading roles', () => {
    it('is FORBIDDEN, naming authz.role.read, without that permission', async () => {
      for (const headers of [{}, as(MEMBER)]) {
        const { body } = await handle.query(ROLES, {}, headers);
        expect(codeOf(body.errors)).toBe('FORBIDDEN');
        expect(body.errors?.[0]?.message).toContain('authz.role.read');
        expect(body.data ?? null).toBeNull();
      }
    });

    it('pages through roles newest first', async () => {
      const first = await handle.query<RolesPage>(ROLES, { first: 2 }, as(ADMIN));
      expect(first.body.errors).toBeUndefined();
      const page1 = first.body.data!.roles;
      expect(page1.totalCount).toBe(3);
      expect(page1.pageInfo.hasNextPage).toBe(true);
      const second = await handle.query<RolesPage>(ROLES, { first: 2, after: page1.pageInfo.endCursor }, as(ADMIN));
      const page2 = second.body.data!.roles;
      expect(page2.pageInfo.hasNextPage).toBe(false);
      expect([...page1.edges, ...page2.edges].map((e) => e.node.name).sort()).toEqual(['admin', 'guest', 'user']);
    });

    it.each([
      ['a malformed cursor', { after: 'garbage' }, 'after'],
      // Well-formed but forged: before the kernel checked them, PostgreSQL failed on these (500).
      [
        'a cursor with a forged id',
        { after: Buffer.from('2026-01-01T00:00:00.000Z|1 or 1=1').toString('base64url') },
        'after',
      ],
      [
        'a cursor with a forged date',
        { after: Buffer.from(`+010000-01-01T00:00:00.000Z|${randomUUID()}`).toString('base64url') },
        'after',
      ],
      ['first = 0', { first: 0 }, 'first'],
      ['first > 100', { first: 101 }, 'first'],
    ])('rejects %s as BAD_USER_INPUT', async (_case, variables, field) => {
      const { body } = await handle.query(ROLES, variables, as(ADMIN));
      expect(codeOf(body.errors)).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.extensions?.fields).toEqual([expect.objectContaining({ field })]);
    });

    it('reads one role, null when unknown, BAD_USER_INPUT for a non-uuid', async () => {
      const ROLE = `query ($id: ID!) { role(id: $id) { id name } }`;
      expect((await handle.query(ROLE, { id: ids.user }, as(ADMIN))).body.data).toEqual({
        role: { id: ids.user, name: 'user' },
      });
      expect((await handle.query(ROLE, { id: randomUUID() }, as(ADMIN))).body.data).toEqual({ role: null });
      expect(codeOf((await handle.query(ROLE, { id: 'admin' }, as(ADMIN))).body.errors)).toBe('BAD_USER_INPUT');
    });
  });

  describe('the permission catalogue', () => {
    it('lists every permission of every module with its module and description', async () => {
      const { body } = await handle.query<{
        permissions: Array<{ name: string; module: string; description: string }>;
      }>(`{ permissions { name module description } }`, {}, as(ADMIN));
      expect(body.errors).toBeUndefined();
      expect(body.data!.permissions).toEqual(
        PERMISSION_CATALOGUE.map(({ name, module, description }) => ({ name, module, description })),
      );
      expect(body.data!.permissions).toContainEqual({
        name: 'blog.post.moderate',
        module: 'blog',
        description: "Edit or delete anyone's posts",
      });
    });

    it('is FORBIDDEN without authz.permission.read', async () => {
      const { body } = await handle.query(`{ permissions { name } }`, {}, as(MEMBER));
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(body.errors?.[0]?.message).toContain('authz.permission.read');
    });
  });

  describe('managing roles', () => {
    it('is FORBIDDEN for a plain user, naming authz.role.create, and writes nothing', async () => {
      const { body } = await handle.query(CREATE, { input: { name: 'sneaky' } }, as(MEMBER));
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(body.errors?.[0]?.message).toContain('authz.role.create');
      expect(await handle.runtime.em().count(Role, { name: 'sneaky' })).toBe(0);
    });

    it('creates a role with permissions and records the events', async () => {
      const { body } = await handle.query<{ createRole: { id: string } }>(
        CREATE,
        { input: { name: 'editor', description: ' Edits posts ', permissions: ['blog.post.moderate'] } },
        as(ADMIN),
      );
      expect(body.errors).toBeUndefined();
      expect(body.data!.createRole).toEqual({
        id: expect.any(String),
        name: 'editor',
        description: 'Edits posts',
        permissions: ['blog.post.moderate'],
        builtIn: false,
      });
      ids.editor = body.data!.createRole.id;
      const topics = await outboxTopics();
      expect(topics).toContainEqual({ topic: 'authz.role.created', payload: { roleId: ids.editor, name: 'editor' } });
      expect(topics).toContainEqual({
        topic: 'authz.grant.changed',
        payload: { roleId: ids.editor, roleName: 'editor', granted: ['blog.post.moderate'], revoked: [] },
      });
    });

    it.each([
      ['a duplicate name', { name: 'editor' }, 'CONFLICT', undefined],
      ['a bad name', { name: 'Editors!' }, 'BAD_USER_INPUT', 'name'],
      [
        'an unknown permission',
        { name: 'writer', permissions: ['blog.post.publish'] },
        'BAD_USER_INPUT',
        'permissions',
      ],
      ['a long description', { name: 'writer', description: 'x'.repeat(501) }, 'BAD_USER_INPUT', 'description'],
    ])('refuses %s and writes nothing', async (_case, input, code, field) => {
      const before = await outboxTopics();
      const roles = await handle.runtime.em().count(Role, {});
      const { body } = await handle.query(CREATE, { input }, as(ADMIN));
      expect(codeOf(body.errors)).toBe(code);
      if (field) expect(body.errors?.[0]?.extensions?.fields).toEqual([expect.objectContaining({ field })]);
      expect(await handle.runtime.em().count(Role, {})).toBe(roles);
      expect(await outboxTopics()).toHaveLength(before.length);
    });

    it('grants and revokes permissions, recording only real changes', async () => {
      const granted = await handle.query(
        GRANT,
        { roleId: ids.editor, permissions: ['blog.post.update', 'blog.post.moderate'] },
        as(ADMIN),
      );
      expect(granted.body).toEqual({
        data: { grantPermissions: { name: 'editor', permissions: ['blog.post.moderate', 'blog.post.update'] } },
      });
      const revoked = await handle.query(REVOKE, { roleId: ids.editor, permission: 'blog.post.update' }, as(ADMIN));
      expect(revoked.body).toEqual({
        data: { revokePermission: { name: 'editor', permissions: ['blog.post.moderate'] } },
      });
      const before = (await outboxTopics()).length;
      await handle.query(REVOKE, { roleId: ids.editor, permission: 'blog.post.update' }, as(ADMIN));
      await handle.query(GRANT, { roleId: ids.editor, permissions: ['blog.post.moderate'] }, as(ADMIN));
      expect(await outboxTopics()).toHaveLength(before);
    });

    it('refuses unknown permissions, changes to admin and unknown roles', async () => {
      const unknown = await handle.query(GRANT, { roleId: ids.editor, permissions: ['nope.x.y'] }, as(ADMIN));
      expect(codeOf(unknown.body.errors)).toBe('BAD_USER_INPUT');
      const admin = await handle.query(REVOKE, { roleId: ids.admin, permission: 'blog.post.read' }, as(ADMIN));
      expect(codeOf(admin.body.errors)).toBe('CONFLICT');
      const missing = await handle.query(GRANT, { roleId: randomUUID(), permissions: ['blog.post.read'] }, as(ADMIN));
      expect(codeOf(missing.body.errors)).toBe('NOT_FOUND');
      const forbidden = await handle.query(GRANT, { roleId: ids.editor, permissions: ['blog.post.read'] }, as(MEMBER));
      expect(codeOf(forbidden.body.errors)).toBe('FORBIDDEN');
      expect(forbidden.body.errors?.[0]?.message).toContain('authz.role.update');
    });

    it('renames custom roles but not built-in ones', async () => {
      const renamed = await handle.query(UPDATE, { id: ids.editor, input: { name: 'editors' } }, as(ADMIN));
      expect(renamed.body.data).toEqual({
        updateRole: { id: ids.editor, name: 'editors', description: 'Edits posts', updatedAt: expect.any(String) },
      });
      await handle.query(UPDATE, { id: ids.editor, input: { name: 'editor' } }, as(ADMIN));
      const builtIn = await handle.query(UPDATE, { id: ids.user, input: { name: 'member' } }, as(ADMIN));
      expect(codeOf(builtIn.body.errors)).toBe('CONFLICT');
      const described = await handle.query(UPDATE, { id: ids.user, input: { description: 'Members' } }, as(ADMIN));
      expect(described.body.errors).toBeUndefined();
      const empty = await handle.query(UPDATE, { id: ids.editor, input: {} }, as(ADMIN));
      expect(codeOf(empty.body.errors)).toBe('BAD_USER_INPUT');
    });
  });

  describe('assignments', () => {
    it('gives a role to a known user, whose permissions then include its grants', async () => {
      const { body } = await handle.query(ASSIGN, { userId: MEMBER, roleId: ids.editor }, as(ADMIN));
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({
        assignRole: {
          id: MEMBER,
          roles: [{ name: 'editor' }, { name: 'user' }],
          permissions: [
            'blog.post.create',
            'blog.post.delete',
            'blog.post.moderate',
            'blog.post.read',
            'blog.post.update',
          ],
        },
      });
      expect(await outboxTopics()).toContainEqual({
        topic: 'authz.assignment.created',
        payload: { userId: MEMBER, roleId: ids.editor, roleName: 'editor' },
      });
    });

    it('refuses unknown users and roles (NOT_FOUND) and callers without authz.role.assign', async () => {
      const user = await handle.query(ASSIGN, { userId: randomUUID(), roleId: ids.editor }, as(ADMIN));
      expect(codeOf(user.body.errors)).toBe('NOT_FOUND');
      const role = await handle.query(ASSIGN, { userId: OTHER, roleId: randomUUID() }, as(ADMIN));
      expect(codeOf(role.body.errors)).toBe('NOT_FOUND');
      const forbidden = await handle.query(ASSIGN, { userId: OTHER, roleId: ids.admin }, as(MEMBER));
      expect(codeOf(forbidden.body.errors)).toBe('FORBIDDEN');
      expect(forbidden.body.errors?.[0]?.message).toContain('authz.role.assign');
    });

    it("shows a user's roles and permissions to themself and to readers of roles only", async () => {
      const own = await handle.query(USER_ACCESS, { representations: [{ __typename: 'User', id: OTHER }] }, as(OTHER));
      expect(own.body.data).toEqual({
        _entities: [
          {
            id: OTHER,
            roles: [{ name: 'user' }],
            permissions: ['blog.post.create', 'blog.post.delete', 'blog.post.read', 'blog.post.update'],
          },
        ],
      });
      const someoneElse = await handle.query(
        USER_ACCESS,
        { representations: [{ __typename: 'User', id: OTHER }] },
        as(MEMBER),
      );
      expect(codeOf(someoneElse.body.errors)).toBe('FORBIDDEN');
      const admin = await handle.query(
        USER_ACCESS,
        { representations: [{ __typename: 'User', id: OTHER }] },
        as(ADMIN),
      );
      expect(admin.body.errors).toBeUndefined();
    });

    it('takes a role away', async () => {
      const { body } = await handle.query(UNASSIGN, { userId: MEMBER, roleId: ids.editor }, as(ADMIN));
      expect(body.data).toEqual({ unassignRole: { id: MEMBER, roles: [{ name: 'user' }] } });
      expect(await outboxTopics()).toContainEqual({
        topic: 'authz.assignment.deleted',
        payload: { userId: MEMBER, roleId: ids.editor, roleName: 'editor' },
      });
    });

    it('deletes custom roles with their assignments; built-in roles stay', async () => {
      await handle.query(ASSIGN, { userId: OTHER, roleId: ids.editor }, as(ADMIN));
      const builtIn = await handle.query(DELETE, { id: ids.guest }, as(ADMIN));
      expect(codeOf(builtIn.body.errors)).toBe('CONFLICT');
      const deleted = await handle.query(DELETE, { id: ids.editor }, as(ADMIN));
      expect(deleted.body).toEqual({ data: { deleteRole: true } });
      expect(await outboxTopics()).toContainEqual({
        topic: 'authz.role.deleted',
        payload: { roleId: ids.editor, name: 'editor', holders: 1 },
      });
      const [roles] = await handle.services.assignments.rolesOf(handle.runtime.em(), [OTHER]);
      expect(roles!.map((r) => r.name)).toEqual(['user']);
      const again = await handle.query(DELETE, { id: ids.editor }, as(ADMIN));
      expect(codeOf(again.body.errors)).toBe('NOT_FOUND');
    });
  });

  describe('_entities of Role', () => {
    const ENTITIES = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Role { id name } } }`;

    it('resolves roles for callers holding authz.role.read', async () => {
      const { body } = await handle.query(
        ENTITIES,
        {
          representations: [
            { __typename: 'Role', id: ids.user },
            { __typename: 'Role', id: randomUUID() },
          ],
        },
        as(ADMIN),
      );
      expect(body.errors).toBeUndefined();
      expect(body.data).toEqual({ _entities: [{ id: ids.user, name: 'user' }, null] });
    });

    it('is FORBIDDEN for others', async () => {
      const { body } = await handle.query(
        ENTITIES,
        { representations: [{ __typename: 'Role', id: ids.user }] },
        as(MEMBER),
      );
      expect(codeOf(body.errors)).toBe('FORBIDDEN');
      expect(body.data).toEqual({ _entities: [null] });
    });
  });

  describe('GET /internal/permissions', () => {
    /** As a service asks: with the deployment's service credential, on behalf of `headers`' caller. */
    const effective = async (headers: Record<string, string> = {}, credential = true) => {
      const service: Record<string, string> = credential
        ? { [SERVICE_CREDENTIAL_HEADER]: serviceCredential(serviceSecret(handle.runtime.platform)) }
        : {};
      const response = await fetch(`${handle.baseUrl}/internal/permissions`, { headers: { ...service, ...headers } });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    it('answers only the platform’s services (401 without the service credential)', async () => {
      expect((await effective(as(ADMIN), false)).status).toBe(401);
    });

    it("answers the guest role's permissions to anonymous callers", async () => {
      expect(await effective()).toEqual({
        status: 200,
        body: { userId: null, organizationId: null, all: false, permissions: ['blog.post.read'] },
      });
    });

    it("answers a user's own permissions, and `all` for administrators", async () => {
      expect(await effective(as(OTHER))).toEqual({
        status: 200,
        body: {
          userId: OTHER,
          organizationId: null,
          all: false,
          permissions: ['blog.post.create', 'blog.post.delete', 'blog.post.read', 'blog.post.update'],
        },
      });
      const admin = await effective(as(ADMIN));
      expect(admin.body.all).toBe(true);
      expect(admin.body.permissions).toEqual(PERMISSION_CATALOGUE.map((p) => p.name).sort());
    });
  });
});
