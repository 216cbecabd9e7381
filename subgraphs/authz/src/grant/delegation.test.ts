import { describe, it, expect, beforeAll, afterAll, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Logger } from '@platform/kernel';
import { startAuthz, type AuthzTestHandle } from '../__tests__/start-authz.js';
import { PERMISSION_CATALOGUE } from '../catalogue.generated.js';
import { RoleService } from '../role/role.service.js';
import { Role } from '../role/role.entity.js';
import { RoleAssignment } from '../assignment/assignment.entity.js';
import { DelegationError, DelegationPolicy, lacking, PLATFORM } from './delegation.js';
import { RolePermission } from './grant.entity.js';

const ALL = PERMISSION_CATALOGUE.map((p) => p.name).sort();
const USER_GRANTS = ['blog.post.create', 'blog.post.delete', 'blog.post.read', 'blog.post.update'];

describe('lacking', () => {
  const held = (permissions: string[], all = false) => ({ all, permissions: new Set(permissions) });
  it.each([
    ['nothing when everything is held', held(['a.b.c', 'a.b.d']), { all: false, permissions: ['a.b.d'] }, []],
    [
      'what is not held, sorted, once',
      held(['a.b.c']),
      { all: false, permissions: ['z.z.z', 'a.b.d', 'z.z.z'] },
      ['a.b.d', 'z.z.z'],
    ],
    ['nothing for a holder of every permission', held([], true), { all: true, permissions: ['a.b.c'] }, []],
    [
      'the permissions of "every permission" not held',
      held(['a.b.c']),
      { all: true, permissions: ['a.b.c', 'a.b.d'] },
      ['a.b.d'],
    ],
    [
      '"*" when only later modules\' permissions are lacking',
      held(['a.b.c']),
      { all: true, permissions: ['a.b.c'] },
      ['*'],
    ],
  ])('%s', (_case, holder, needed, expected) => {
    expect(lacking(holder, needed)).toEqual(expected);
  });
});

/**
 * Each finding of issue 25 (a user holding only `authz.role.assign` made themselves admin; one
 * holding only `authz.role.update` opened identity.user.read to anonymous callers) and the rule
 * that replaced them, through authz's own GraphQL API. Callers are named by a test header.
 */
describe('delegation', () => {
  let handle: AuthzTestHandle;
  const users = {
    admin: randomUUID(),
    assigner: randomUUID(),
    updater: randomUUID(),
    creator: randomUUID(),
    deleter: randomUUID(),
    everything: randomUUID(),
    other: randomUUID(),
  };
  const ids: Record<string, string> = {};
  const as = (userId: string): Record<string, string> => ({ 'x-test-user': userId });

  type Errors = Array<{ message: string; extensions?: Record<string, unknown> }> | undefined;
  const CREATE = `mutation ($input: CreateRoleInput!) { createRole(input: $input) { id name permissions } }`;
  const UPDATE = `mutation ($id: ID!, $input: UpdateRoleInput!) { updateRole(id: $id, input: $input) { id name } }`;
  const DELETE = `mutation ($id: ID!) { deleteRole(id: $id) }`;
  const GRANT = `mutation ($roleId: ID!, $permissions: [String!]!) { grantPermissions(roleId: $roleId, permissions: $permissions) { name permissions } }`;
  const REVOKE = `mutation ($roleId: ID!, $permission: String!) { revokePermission(roleId: $roleId, permission: $permission) { name permissions } }`;
  const ASSIGN = `mutation ($userId: ID!, $roleId: ID!) { assignRole(userId: $userId, roleId: $roleId) { id } }`;
  const UNASSIGN = `mutation ($userId: ID!, $roleId: ID!) { unassignRole(userId: $userId, roleId: $roleId) { id } }`;

  const em = () => handle.runtime.em();
  const rolesOf = async (userId: string): Promise<string[]> =>
    (await handle.services.assignments.rolesOf(em(), [userId]))[0]!.map((role) => role.name);
  const grantsOf = async (role: string): Promise<string[]> =>
    (await em().find(RolePermission, { role: ids[role]! }, { orderBy: { permission: 'asc' } })).map(
      (g) => g.permission,
    );
  const effective = async (userId: string | undefined): Promise<string[]> =>
    [...(await handle.services.effective.of(em(), userId)).permissions].sort();
  const outboxSize = async (): Promise<number> =>
    Number(
      (await em().execute<Array<{ n: string }>>(`select count(*) as n from "${handle.runtime.db.schema}".outbox`))[0]!
        .n,
    );

  /** Everything a refusal must leave as it was. */
  const snapshot = async () => ({
    outbox: await outboxSize(),
    roles: (await em().find(Role, {}, { orderBy: { name: 'asc' } })).map((r) => `${r.name}:${r.description ?? ''}`),
    grants: (await em().find(RolePermission, {}, { orderBy: { permission: 'asc' } }))
      .map((g) => `${g.role.id}:${g.permission}`)
      .sort(),
    assignments: (await em().find(RoleAssignment, {})).map((a) => `${a.userId}:${a.role.id}`).sort(),
  });

  /** The call is FORBIDDEN naming `permission`, for `reason`, and changes nothing. */
  async function expectRefused(
    call: () => Promise<{ body: { errors?: Errors; data?: unknown } }>,
    permission: string,
    reason: 'delegation' | 'guest-allow-list' = 'delegation',
  ): Promise<Errors> {
    const before = await snapshot();
    const { body } = await call();
    expect(body.errors?.[0]?.extensions).toEqual(
      expect.objectContaining({ code: 'FORBIDDEN', permission, reason, missing: expect.arrayContaining([permission]) }),
    );
    expect(body.errors?.[0]?.message).toContain(permission);
    expect(body.data ?? null).toBeNull();
    expect(await snapshot()).toEqual(before);
    return body.errors;
  }

  const ok = async (call: Promise<{ body: { errors?: Errors; data?: unknown } }>) => {
    const { body } = await call;
    expect(body.errors).toBeUndefined();
    return body.data as Record<string, unknown>;
  };

  beforeAll(async () => {
    handle = await startAuthz({
      authenticate: (req) => {
        const id = req.headers['x-test-user'];
        return typeof id === 'string' ? { id } : undefined;
      },
    });
    const { assignments, roles } = handle.services;
    for (const user of Object.values(users)) {
      await assignments.rememberUser(em(), user);
      await assignments.assignRole(em(), user, 'user', PLATFORM);
    }
    await assignments.assignRole(em(), users.admin, 'admin', PLATFORM);
    // The delegates of the findings, each holding one kind of role administration.
    const delegates: Array<[keyof typeof users, string, string[]]> = [
      ['assigner', 'assigner', ['authz.role.assign']],
      ['updater', 'updater', ['authz.role.update']],
      ['creator', 'creator', ['authz.role.create']],
      ['deleter', 'deleter', ['authz.role.delete']],
      // Every permission there is today, one by one: still not "every permission".
      ['everything', 'everything', ALL],
    ];
    for (const [user, name, permissions] of delegates) {
      const role = await roles.create(em(), { name, permissions }, PLATFORM);
      await assignments.assignRole(em(), users[user], role.id, PLATFORM);
    }
    // Roles an administrator made, within and beyond the delegates' authority.
    await roles.create(em(), { name: 'writer', permissions: ['blog.post.create'] }, PLATFORM);
    await roles.create(em(), { name: 'support', permissions: ['identity.user.read'] }, PLATFORM);
    for (const role of await em().find(Role, {})) ids[role.name] = role.id;
  });

  afterAll(async () => {
    await handle?.stop();
  });

  describe('assigning and unassigning roles', () => {
    it('refuses the assign-only user the admin role, for themself or anyone (the finding)', async () => {
      for (const target of [users.assigner, users.other]) {
        const errors = await expectRefused(
          () => handle.query(ASSIGN, { userId: target, roleId: ids.admin }, as(users.assigner)),
          'audit.event.read',
        );
        const missing = errors?.[0]?.extensions?.missing as string[];
        expect(missing).toEqual(ALL.filter((p) => !['authz.role.assign', ...USER_GRANTS].includes(p)));
        expect(missing).toContain('identity.user.read');
      }
      expect(await effective(users.assigner)).toEqual(['authz.role.assign', ...USER_GRANTS].sort());
    });

    it('refuses any role granting a permission the assigner lacks', async () => {
      await expectRefused(
        () => handle.query(ASSIGN, { userId: users.other, roleId: ids.support }, as(users.assigner)),
        'identity.user.read',
      );
    });

    it('assigns and unassigns roles within the assigner’s own permissions', async () => {
      for (const role of ['writer', 'assigner']) {
        await ok(handle.query(ASSIGN, { userId: users.other, roleId: ids[role] }, as(users.assigner)));
      }
      expect(await rolesOf(users.other)).toEqual(['assigner', 'user', 'writer']);
      for (const role of ['writer', 'assigner']) {
        await ok(handle.query(UNASSIGN, { userId: users.other, roleId: ids[role] }, as(users.assigner)));
      }
      expect(await rolesOf(users.other)).toEqual(['user']);
    });

    it('refuses taking away a role beyond the assigner’s permissions (the admin’s own)', async () => {
      await expectRefused(
        () => handle.query(UNASSIGN, { userId: users.admin, roleId: ids.admin }, as(users.assigner)),
        'audit.event.read',
      );
      expect(await rolesOf(users.admin)).toContain('admin');
    });

    it('needs "every permission" itself for the admin role: holding each one today is not enough', async () => {
      const errors = await expectRefused(
        () => handle.query(ASSIGN, { userId: users.other, roleId: ids.admin }, as(users.everything)),
        '*',
      );
      expect(errors?.[0]?.message).toContain('modules added later');
      await ok(handle.query(ASSIGN, { userId: users.other, roleId: ids.support }, as(users.everything)));
      await ok(handle.query(UNASSIGN, { userId: users.other, roleId: ids.support }, as(users.everything)));
    });

    it('lets an administrator assign and unassign any role, admin included', async () => {
      for (const role of ['admin', 'support']) {
        await ok(handle.query(ASSIGN, { userId: users.other, roleId: ids[role] }, as(users.admin)));
      }
      expect(await rolesOf(users.other)).toEqual(['admin', 'support', 'user']);
      for (const role of ['admin', 'support']) {
        await ok(handle.query(UNASSIGN, { userId: users.other, roleId: ids[role] }, as(users.admin)));
      }
    });
  });

  describe('the guest role', () => {
    it('refuses the update-only user identity.user.read for guest; anonymous callers still get nothing more (the finding)', async () => {
      const errors = await expectRefused(
        () => handle.query(GRANT, { roleId: ids.guest, permissions: ['identity.user.read'] }, as(users.updater)),
        'identity.user.read',
        'guest-allow-list',
      );
      expect(errors?.[0]?.message).toContain('modules.authz.guestAllowList');
      expect(await effective(undefined)).toEqual(['blog.post.read']);
    });

    it('refuses an administrator too: anonymous access is widened in config only', async () => {
      for (const permission of ['identity.user.read', 'authz.role.assign', 'blog.post.create']) {
        await expectRefused(
          () =>
            handle.query(GRANT, { roleId: ids.guest, permissions: ['blog.post.read', permission] }, as(users.admin)),
          permission,
          'guest-allow-list',
        );
      }
      expect(await grantsOf('guest')).toEqual(['blog.post.read']);
    });

    it('grants what the allow-list has, and a wider configured list lets an administrator grant more', async () => {
      await ok(handle.query(GRANT, { roleId: ids.guest, permissions: ['blog.post.read'] }, as(users.admin)));
      // What `modules.authz.guestAllowList: [blog.post.read, blog.post.create]` builds.
      const { catalogue, effective: query } = handle.services;
      const wider = new DelegationPolicy({
        effective: query,
        catalogue,
        guestAllowList: new Set(['blog.post.read', 'blog.post.create']),
      });
      const roles = new RoleService({
        emit: () => Promise.resolve(),
        catalogue,
        delegation: wider,
        organizationAllowList: new Set(),
      });
      const admin = { userId: users.admin, logger: handle.runtime.logger };
      await roles.grant(em(), ids.guest!, ['blog.post.create'], admin);
      expect(await effective(undefined)).toEqual(['blog.post.create', 'blog.post.read']);
      await expect(roles.grant(em(), ids.guest!, ['identity.user.read'], admin)).rejects.toThrow(DelegationError);
      await roles.revoke(em(), ids.guest!, 'blog.post.create', admin);
      expect(await effective(undefined)).toEqual(['blog.post.read']);
    });

    it('loses, on start, whatever it was given outside the allow-list before the rule existed', async () => {
      // The state the finding left behind: guest granting identity.user.read.
      await em().insert(RolePermission, { role: ids.guest!, permission: 'identity.user.read', grantedAt: new Date() });
      expect(await effective(undefined)).toEqual(['blog.post.read', 'identity.user.read']);
      const before = await outboxSize();
      expect(await handle.services.builtInRoles.enforceGuestAllowList(em())).toEqual(['identity.user.read']);
      expect(await effective(undefined)).toEqual(['blog.post.read']);
      const [event] = await em().execute<Array<{ topic: string; payload: unknown }>>(
        `select topic, payload from "${handle.runtime.db.schema}".outbox order by seq desc limit 1`,
      );
      expect(event).toEqual({
        topic: 'authz.grant.changed',
        payload: { roleId: ids.guest, roleName: 'guest', granted: [], revoked: ['identity.user.read'] },
      });
      expect(await outboxSize()).toBe(before + 1);
      expect(await handle.services.builtInRoles.enforceGuestAllowList(em())).toEqual([]);
    });
  });

  describe('granting and revoking permissions', () => {
    it('refuses the update-only user a permission they lack, on any role', async () => {
      await expectRefused(
        () => handle.query(GRANT, { roleId: ids.writer, permissions: ['identity.user.read'] }, as(users.updater)),
        'identity.user.read',
      );
    });

    it('refuses editing a role the caller holds to add a permission they lack', async () => {
      await expectRefused(
        () => handle.query(GRANT, { roleId: ids.updater, permissions: ['authz.role.assign'] }, as(users.updater)),
        'authz.role.assign',
      );
      expect(await grantsOf('updater')).toEqual(['authz.role.update']);
    });

    it('writes nothing of a grant with one permission too many', async () => {
      await expectRefused(
        () =>
          handle.query(
            GRANT,
            { roleId: ids.writer, permissions: ['blog.post.update', 'blog.post.moderate'] },
            as(users.updater),
          ),
        'blog.post.moderate',
      );
      expect(await grantsOf('writer')).toEqual(['blog.post.create']);
    });

    it('grants and revokes permissions the caller holds on roles within their authority', async () => {
      const granted = await ok(
        handle.query(GRANT, { roleId: ids.writer, permissions: ['blog.post.update'] }, as(users.updater)),
      );
      expect(granted).toEqual({
        grantPermissions: { name: 'writer', permissions: ['blog.post.create', 'blog.post.update'] },
      });
      await ok(handle.query(REVOKE, { roleId: ids.writer, permission: 'blog.post.update' }, as(users.updater)));
      expect(await grantsOf('writer')).toEqual(['blog.post.create']);
    });

    it('refuses changes to a role granting more than the caller holds, revoking included', async () => {
      await expectRefused(
        () => handle.query(GRANT, { roleId: ids.support, permissions: ['blog.post.read'] }, as(users.updater)),
        'identity.user.read',
      );
      await expectRefused(
        () => handle.query(REVOKE, { roleId: ids.support, permission: 'identity.user.read' }, as(users.updater)),
        'identity.user.read',
      );
      expect(await grantsOf('support')).toEqual(['identity.user.read']);
    });

    it('lets an administrator grant and revoke anything outside the guest role', async () => {
      await ok(handle.query(GRANT, { roleId: ids.support, permissions: ['audit.event.read'] }, as(users.admin)));
      await ok(handle.query(REVOKE, { roleId: ids.support, permission: 'audit.event.read' }, as(users.admin)));
      expect(await grantsOf('support')).toEqual(['identity.user.read']);
    });
  });

  describe('creating, renaming and deleting roles', () => {
    it('creates roles only with permissions the caller holds', async () => {
      await expectRefused(
        () =>
          handle.query(
            CREATE,
            { input: { name: 'snoop', permissions: ['blog.post.read', 'identity.user.read'] } },
            as(users.creator),
          ),
        'identity.user.read',
      );
      const created = await ok(
        handle.query(CREATE, { input: { name: 'poster', permissions: ['blog.post.create'] } }, as(users.creator)),
      );
      expect(created).toEqual({
        createRole: { id: expect.any(String), name: 'poster', permissions: ['blog.post.create'] },
      });
      ids.poster = (created.createRole as { id: string }).id;
    });

    it('renames or describes only roles within the caller’s authority', async () => {
      await expectRefused(
        () => handle.query(UPDATE, { id: ids.support, input: { name: 'interns' } }, as(users.updater)),
        'identity.user.read',
      );
      await expectRefused(
        () => handle.query(UPDATE, { id: ids.admin, input: { description: 'Nobody' } }, as(users.updater)),
        'audit.event.read',
      );
      await ok(handle.query(UPDATE, { id: ids.poster, input: { name: 'posters' } }, as(users.updater)));
      await ok(handle.query(UPDATE, { id: ids.support, input: { description: 'Helpdesk' } }, as(users.admin)));
    });

    it('deletes only roles within the caller’s authority; built-in roles stay for everyone', async () => {
      await expectRefused(() => handle.query(DELETE, { id: ids.support }, as(users.deleter)), 'identity.user.read');
      const builtIn = await handle.query(DELETE, { id: ids.guest }, as(users.deleter));
      expect(builtIn.body.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      expect(await ok(handle.query(DELETE, { id: ids.poster }, as(users.deleter)))).toEqual({ deleteRole: true });
      expect(await ok(handle.query(DELETE, { id: ids.support }, as(users.admin)))).toEqual({ deleteRole: true });
    });
  });

  it('logs each refusal with what was refused and the permission lacking', async () => {
    const warn = jest.fn();
    const logger = { warn } as unknown as Logger;
    await expect(
      handle.services.assignments.assignRole(em(), users.other, 'admin', { userId: users.assigner, logger }),
    ).rejects.toThrow(DelegationError);
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({
        action: 'assignRole',
        roleId: ids.admin,
        roleName: 'admin',
        targetUserId: users.other,
        permission: 'audit.event.read',
        reason: 'delegation',
      }),
      'delegation refused',
    );
  });
});
