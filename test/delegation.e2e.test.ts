import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@platform/kernel/testing';
import identity from '@platform/identity';
import {
  errorCode,
  graphqlAt,
  register,
  signIn,
  startTestPlatform,
  type GraphQLBody,
  type TestPlatform,
} from './helpers.js';

/**
 * Issue 25's findings through the gateway, as a frontend would call it: an administrator
 * creates roles and hands out role administration; a delegate then tries to escalate. Before
 * the delegation rule, the assign-only user made themselves admin and the update-only user
 * opened every email to anonymous callers.
 */

const ADMIN = { email: 'root@example.com', password: 'root passphrase for tests' };
const ASSIGNER = { email: 'assigner@example.com', password: 'assigner passphrase 7', displayName: 'Assigner' };
const UPDATER = { email: 'updater@example.com', password: 'updater passphrase 7', displayName: 'Updater' };
const MEMBER = { email: 'member@example.com', password: 'member passphrase 7', displayName: 'Member' };

let platform: TestPlatform;
const tokens: Record<string, string> = {};
const userIds: Record<string, string> = {};
const roleIds: Record<string, string> = {};

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
  graphqlAt<T>(platform.gateway.url, query, variables, token);

const ME = `{ me { id permissions roles { name } } }`;
const ROLES = `{ roles(first: 100) { edges { node { id name permissions } } } }`;
const USERS = `{ users(first: 5) { totalCount edges { node { email } } } }`;
const CREATE_ROLE = `mutation ($input: CreateRoleInput!) { createRole(input: $input) { id name permissions } }`;
const GRANT = `mutation ($roleId: ID!, $permissions: [String!]!) { grantPermissions(roleId: $roleId, permissions: $permissions) { name permissions } }`;
const ASSIGN = `mutation ($userId: ID!, $roleId: ID!) { assignRole(userId: $userId, roleId: $roleId) { id } }`;
const UNASSIGN = `mutation ($userId: ID!, $roleId: ID!) { unassignRole(userId: $userId, roleId: $roleId) { id } }`;

/** FORBIDDEN through the gateway, naming `permission` as shield's denials do, for `reason`. */
function expectForbidden(body: GraphQLBody<unknown>, permission: string, reason = 'delegation'): void {
  expect(errorCode(body)).toBe('FORBIDDEN');
  expect(body.errors?.[0]?.extensions).toEqual(expect.objectContaining({ permission, reason }));
  expect(body.errors?.[0]?.message).toContain(permission);
  expect(body.data ?? null).toBeNull();
}

const rolesOf = async (userId: string): Promise<string[]> => {
  const body = await gql<{ user: { roles: Array<{ name: string }> } }>(
    `query ($id: ID!) { user(id: $id) { roles { name } } }`,
    { id: userId },
    tokens.admin,
  );
  expect(body.errors).toBeUndefined();
  return body.data!.user.roles.map((role) => role.name).sort();
};

const grantsOf = async (name: string): Promise<string[]> => {
  const body = await gql<{ roles: { edges: Array<{ node: { name: string; permissions: string[] } }> } }>(
    ROLES,
    {},
    tokens.admin,
  );
  return body.data!.roles.edges.find(({ node }) => node.name === name)!.node.permissions;
};

beforeAll(async () => {
  platform = await startTestPlatform({ modules: { identity: { seedAdmin: ADMIN } } });
  const handle = platform.subgraphs.identity!;
  await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
  for (const account of [ASSIGNER, UPDATER, MEMBER]) await register(platform, account);
  const accounts = { admin: ADMIN, assigner: ASSIGNER, updater: UPDATER, member: MEMBER };
  for (const [name, account] of Object.entries(accounts)) {
    // authz learns of new users from identity's events: the first roles arrive just after.
    await eventually(async () => {
      const { accessToken, id } = await signIn(platform, account.email, account.password);
      tokens[name] = accessToken;
      userIds[name] = id;
      const me = await gql<{ me: { roles: Array<{ name: string }> } }>(ME, {}, accessToken);
      expect(me.data?.me.roles.map((r) => r.name)).toContain(name === 'admin' ? 'admin' : 'user');
    });
  }

  // The administrator delegates role administration, one kind each, and makes roles to hand out.
  const roles: Array<[string, string[]]> = [
    ['assigner', ['authz.role.assign', 'authz.role.read']],
    ['updater', ['authz.role.update', 'authz.role.read']],
    ['poster', ['blog.post.create', 'blog.post.read']],
    ['support', ['identity.user.read']],
  ];
  for (const [name, permissions] of roles) {
    const created = await gql<{ createRole: { id: string } }>(
      CREATE_ROLE,
      { input: { name, permissions } },
      tokens.admin,
    );
    expect(created.errors).toBeUndefined();
    roleIds[name] = created.data!.createRole.id;
  }
  const all = await gql<{ roles: { edges: Array<{ node: { id: string; name: string } }> } }>(ROLES, {}, tokens.admin);
  for (const { node } of all.data!.roles.edges) roleIds[node.name] ??= node.id;
  for (const name of ['assigner', 'updater']) {
    expect((await gql(ASSIGN, { userId: userIds[name], roleId: roleIds[name] }, tokens.admin)).errors).toBeUndefined();
  }
  // Booting every service and hashing four passwords takes a while on a busy machine.
}, 90_000);

afterAll(async () => {
  await platform?.stop();
});

describe('delegated role administration through the gateway', () => {
  it('refuses the assign-only user the admin role; they still cannot read users', async () => {
    const body = await gql(ASSIGN, { userId: userIds.assigner, roleId: roleIds.admin }, tokens.assigner);
    expectForbidden(body, 'audit.event.read');
    expect(body.errors?.[0]?.extensions?.missing).toEqual(expect.arrayContaining(['identity.user.read']));
    expect(await rolesOf(userIds.assigner!)).toEqual(['assigner', 'user']);
    expectForbidden(
      await gql(ASSIGN, { userId: userIds.member, roleId: roleIds.support }, tokens.assigner),
      'identity.user.read',
    );
    const users = await gql(USERS, {}, tokens.assigner);
    expect(errorCode(users)).toBe('FORBIDDEN');
    expect(users.errors?.[0]?.extensions?.permission).toBe('identity.user.read');
  });

  it('lets the assign-only user assign and unassign a role within their permissions', async () => {
    expect(
      (await gql(ASSIGN, { userId: userIds.member, roleId: roleIds.poster }, tokens.assigner)).errors,
    ).toBeUndefined();
    expect(await rolesOf(userIds.member!)).toEqual(['poster', 'user']);
    expect(
      (await gql(UNASSIGN, { userId: userIds.member, roleId: roleIds.poster }, tokens.assigner)).errors,
    ).toBeUndefined();
    expect(await rolesOf(userIds.member!)).toEqual(['user']);
    // Nor can they take the administrator's role away.
    expectForbidden(
      await gql(UNASSIGN, { userId: userIds.admin, roleId: roleIds.admin }, tokens.assigner),
      'audit.event.read',
    );
  });

  it('refuses the update-only user identity.user.read for the guest role; anonymous callers still see no email', async () => {
    const body = await gql(GRANT, { roleId: roleIds.guest, permissions: ['identity.user.read'] }, tokens.updater);
    expectForbidden(body, 'identity.user.read', 'guest-allow-list');
    expect(body.errors?.[0]?.message).toContain('modules.authz.guestAllowList');
    expect(await grantsOf('guest')).toEqual(['blog.post.read']);
    const anonymous = await gql(USERS);
    expect(errorCode(anonymous)).toBe('FORBIDDEN');
    expect(anonymous.errors?.[0]?.extensions?.permission).toBe('identity.user.read');
  });

  it('refuses the administrator too: the guest role gets nothing outside the allow-list', async () => {
    for (const permission of ['identity.user.read', 'blog.post.create']) {
      expectForbidden(
        await gql(GRANT, { roleId: roleIds.guest, permissions: [permission] }, tokens.admin),
        permission,
        'guest-allow-list',
      );
    }
    expect(await grantsOf('guest')).toEqual(['blog.post.read']);
  });

  it('refuses the update-only user a permission they lack on a role they hold, or on any role', async () => {
    expectForbidden(
      await gql(GRANT, { roleId: roleIds.updater, permissions: ['authz.role.assign'] }, tokens.updater),
      'authz.role.assign',
    );
    expectForbidden(
      await gql(GRANT, { roleId: roleIds.poster, permissions: ['identity.user.read'] }, tokens.updater),
      'identity.user.read',
    );
    expect(await grantsOf('updater')).toEqual(['authz.role.read', 'authz.role.update']);
    expect(await grantsOf('poster')).toEqual(['blog.post.create', 'blog.post.read']);
    // Within their authority the change goes through.
    const granted = await gql(GRANT, { roleId: roleIds.poster, permissions: ['blog.post.update'] }, tokens.updater);
    expect(granted).toEqual({
      data: {
        grantPermissions: { name: 'poster', permissions: ['blog.post.create', 'blog.post.read', 'blog.post.update'] },
      },
    });
  });

  it('lets the administrator do everything else: grant any permission to a role, assign admin', async () => {
    const granted = await gql(GRANT, { roleId: roleIds.support, permissions: ['audit.event.read'] }, tokens.admin);
    expect(granted.errors).toBeUndefined();
    for (const role of ['support', 'admin']) {
      expect(
        (await gql(ASSIGN, { userId: userIds.member, roleId: roleIds[role] }, tokens.admin)).errors,
      ).toBeUndefined();
    }
    expect(await rolesOf(userIds.member!)).toEqual(['admin', 'support', 'user']);
    await eventually(async () => {
      const users = await gql<{ users: { totalCount: number } }>(USERS, {}, tokens.member);
      expect(users.errors).toBeUndefined();
      expect(users.data!.users.totalCount).toBe(4);
    });
  });
});
