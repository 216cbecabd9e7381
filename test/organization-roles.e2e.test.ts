import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import identity from '@platform/identity';
import { eventually } from '@platform/kernel/testing';
import { Organizations, type Account } from './fixtures/organizations.js';
import { errorCode, signIn, startTestPlatform, type GraphQLBody, type TestPlatform } from './helpers.js';

/**
 * Tenant-scoped authority (issue 22, part 2) through the gateway: each organization gets its own
 * `admin` and `member` roles (held by its owners and administrators, and its members), an
 * organization's roles count only while a caller acts in it, and its administrators manage its
 * roles within the delegation rule, never reaching a global role or another organization's.
 */

const ADMIN = { email: 'root@example.com', password: 'root passphrase for tests' };

let platform: TestPlatform;
let orgs: Organizations;
let adminToken: string;

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
  orgs.gql<T>(query, variables, token);

const ME = `{ me { id roles { name organizationId } permissions } }`;
const ROLES = `query ($org: ID) { roles(first: 50, organizationId: $org) { edges { node { id name organizationId builtIn } } } }`;
const CREATE_ROLE = `mutation ($input: CreateRoleInput!) { createRole(input: $input) { id name organizationId permissions } }`;
const ASSIGN = `mutation ($user: ID!, $role: ID!) { assignRole(userId: $user, roleId: $role) { id } }`;
const GRANT = `mutation ($role: ID!, $permissions: [String!]!) { grantPermissions(roleId: $role, permissions: $permissions) { id } }`;
const ROLE = `query ($id: ID!) { role(id: $id) { id name } }`;

interface Me {
  me: { id: string; roles: Array<{ name: string; organizationId: string | null }>; permissions: string[] };
}
interface RoleNode {
  id: string;
  name: string;
  organizationId: string | null;
  builtIn: boolean;
}

const me = async (token: string): Promise<Me['me']> => {
  const body = await gql<Me>(ME, {}, token);
  expect(body.errors).toBeUndefined();
  return body.data!.me;
};

/** `roles` as `token`'s caller sees them (of `organizationId`, else their active organization), flattened to `nodes`. */
async function rolesSeen(
  token: string,
  organizationId?: string,
): Promise<GraphQLBody<{ roles: { nodes: RoleNode[] } }>> {
  const body = await gql<{ roles: { edges: Array<{ node: RoleNode }> } }>(
    ROLES,
    { org: organizationId ?? null },
    token,
  );
  return {
    ...body,
    data: body.data ? { roles: { nodes: body.data.roles.edges.map((edge) => edge.node) } } : body.data,
  } as GraphQLBody<{ roles: { nodes: RoleNode[] } }>;
}

beforeAll(async () => {
  platform = await startTestPlatform({ modules: { identity: { seedAdmin: ADMIN } } });
  orgs = new Organizations(platform);
  const handle = platform.subgraphs.identity!;
  await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
  adminToken = (await signIn(platform, ADMIN.email, ADMIN.password)).accessToken;
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe("organizations' roles", () => {
  let owner: Account;
  let member: Account;
  let outsider: Account;
  let acme: string;
  let globex: string;
  /** The owner's session active in Acme, once its built-in roles exist. */
  let ownerInAcme: Account;

  beforeAll(async () => {
    owner = await orgs.account('acme-owner@example.com');
    member = await orgs.account('acme-member@example.com');
    outsider = await orgs.account('globex-owner@example.com');
    acme = await orgs.create(owner.accessToken, 'Acme', 'acme');
    globex = await orgs.create(outsider.accessToken, 'Globex', 'globex');
    await orgs.join(owner.accessToken, acme, member);
    // authz makes the built-in roles and assignments from identity's events.
    await eventually(async () => {
      ownerInAcme = await orgs.login(owner.email, acme);
      expect((await me(ownerInAcme.accessToken)).roles).toContainEqual({ name: 'admin', organizationId: acme });
    }, 20_000);
  }, 90_000);

  it("counts an organization's roles only while acting in it", async () => {
    const inside = await me(ownerInAcme.accessToken);
    expect(inside.roles).toEqual([
      { name: 'admin', organizationId: acme },
      { name: 'user', organizationId: null },
    ]);
    expect(inside.permissions).toEqual(expect.arrayContaining(['authz.role.assign', 'authz.role.create']));
    // The same user outside any organization: the global `user` role only.
    const outside = await me(owner.accessToken);
    expect(outside.roles).toEqual([{ name: 'user', organizationId: null }]);
    expect(outside.permissions).not.toContain('authz.role.create');
    expect(errorCode(await gql(CREATE_ROLE, { input: { name: 'nope', permissions: [] } }, owner.accessToken))).toBe(
      'FORBIDDEN',
    );
    // A member holds Acme's `member` role there.
    await eventually(async () => {
      const memberInAcme = await orgs.login(member.email, acme);
      expect((await me(memberInAcme.accessToken)).roles).toContainEqual({ name: 'member', organizationId: acme });
    }, 10_000);
  });

  it("lets an organization's administrators make and give its roles, within what an organization may grant", async () => {
    const created = await gql<{ createRole: { id: string; organizationId: string; permissions: string[] } }>(
      CREATE_ROLE,
      { input: { name: 'role-reader', permissions: ['authz.role.read'] } },
      ownerInAcme.accessToken,
    );
    expect(created.errors).toBeUndefined();
    expect(created.data!.createRole).toMatchObject({ organizationId: acme, permissions: ['authz.role.read'] });
    const roleId = created.data!.createRole.id;
    // A name global roles use is free within an organization.
    const named = await gql(CREATE_ROLE, { input: { name: 'user', permissions: [] } }, ownerInAcme.accessToken);
    expect(named.errors).toBeUndefined();

    // Beyond what an organization's role may grant: refused, whoever asks, nothing made.
    for (const token of [ownerInAcme.accessToken, adminToken]) {
      const wide = await gql(
        CREATE_ROLE,
        { input: { name: 'moderators', permissions: ['blog.post.moderate'], organizationId: acme } },
        token,
      );
      expect(errorCode(wide)).toBe('BAD_USER_INPUT');
    }
    expect(errorCode(await gql(GRANT, { role: roleId, permissions: ['identity.user.read'] }, adminToken))).toBe(
      'BAD_USER_INPUT',
    );

    // Given to a member of Acme; not to someone outside it.
    expect((await gql(ASSIGN, { user: member.id, role: roleId }, ownerInAcme.accessToken)).errors).toBeUndefined();
    expect(errorCode(await gql(ASSIGN, { user: outsider.id, role: roleId }, ownerInAcme.accessToken))).toBe(
      'NOT_FOUND',
    );
    const seen = await rolesSeen(ownerInAcme.accessToken);
    expect(
      seen
        .data!.roles.nodes.filter((r) => r.organizationId === acme)
        .map((r) => r.name)
        .sort(),
    ).toEqual(['admin', 'member', 'role-reader', 'user']);
  });

  it('keeps organization administrators away from global roles and from other organizations', async () => {
    const global = (await rolesSeen(adminToken)).data!.roles.nodes;
    const userRole = global.find((r) => r.name === 'user' && r.organizationId === null)!;
    const adminRole = global.find((r) => r.name === 'admin' && r.organizationId === null)!;
    expect(global.every((r) => r.organizationId === null)).toBe(true);

    // Global roles: not theirs to make, reshape or give, even though they may manage roles in Acme.
    const asGlobal = await gql(
      CREATE_ROLE,
      { input: { name: 'global-try', permissions: [], organizationId: null } },
      ownerInAcme.accessToken,
    );
    expect(asGlobal.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      permission: 'authz.role.create',
      reason: 'delegation',
    });
    expect(
      errorCode(await gql(GRANT, { role: userRole.id, permissions: ['authz.role.read'] }, ownerInAcme.accessToken)),
    ).toBe('FORBIDDEN');
    expect(errorCode(await gql(ASSIGN, { user: member.id, role: adminRole.id }, ownerInAcme.accessToken))).toBe(
      'FORBIDDEN',
    );

    // Globex's roles do not exist for Acme's administrator.
    let globexRoles: RoleNode[] = [];
    await eventually(async () => {
      const listed = await rolesSeen(adminToken, globex);
      globexRoles = listed.data!.roles.nodes.filter((r) => r.organizationId === globex);
      expect(globexRoles.map((r) => r.name).sort()).toEqual(['admin', 'member']);
    }, 10_000);
    const globexAdmin = globexRoles.find((r) => r.name === 'admin')!;
    expect(errorCode(await rolesSeen(ownerInAcme.accessToken, globex))).toBe('NOT_FOUND');
    expect((await gql(ROLE, { id: globexAdmin.id }, ownerInAcme.accessToken)).data).toEqual({ role: null });
    expect(errorCode(await gql(ASSIGN, { user: member.id, role: globexAdmin.id }, ownerInAcme.accessToken))).toBe(
      'NOT_FOUND',
    );
    expect(
      errorCode(await gql(GRANT, { role: globexAdmin.id, permissions: ['authz.role.read'] }, ownerInAcme.accessToken)),
    ).toBe('NOT_FOUND');
    // Platform staff (global authz permissions) manage an organization's roles from outside it.
    const staff = await gql(
      CREATE_ROLE,
      { input: { name: 'support', permissions: ['authz.role.read'], organizationId: globex } },
      adminToken,
    );
    expect(staff.errors).toBeUndefined();
  });

  it("takes an organization's roles from a member who leaves it", async () => {
    const leave = await gql(
      `mutation ($org: ID!) { leaveOrganization(organizationId: $org) }`,
      { org: acme },
      member.accessToken,
    );
    expect(leave).toEqual({ data: { leaveOrganization: true } });
    const authz = platform.subgraphs.authz!;
    const services = authz.services as {
      assignments: { rolesOf(em: unknown, ids: string[], org: string): Promise<Array<Array<{ name: string }>>> };
    };
    await eventually(async () => {
      const [held] = await services.assignments.rolesOf(authz.runtime.em(), [member.id], acme);
      expect(held!.map((role) => role.name)).toEqual(['user']);
    }, 10_000);
    // Signing in to Acme is refused now.
    await expect(orgs.login(member.email, acme)).rejects.toThrow(/FORBIDDEN/);
  });
});
