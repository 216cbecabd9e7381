import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import identity from '@platform/identity';
import { eventually } from '@platform/kernel/testing';
import {
  ACCEPT,
  claimsOf,
  CREATE_ORGANIZATION,
  INVITE,
  LOGIN,
  Organizations,
  PASSWORD,
  type Account,
} from './fixtures/organizations.js';
import { errorCode, signIn, startTestPlatform, type TestPlatform } from './helpers.js';

/**
 * Organizations (issue 22, part 1) through the gateway: made by a user (its first owner),
 * joined by mailed invitation, chosen per session (the access token's `org`, seen by every
 * subgraph), managed by owners and administrators.
 */

const ADMIN = { email: 'root@example.com', password: 'root passphrase for tests' };

let platform: TestPlatform;
let orgs: Organizations;
let adminToken: string;

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
  orgs.gql<T>(query, variables, token);
const login = (email: string, organizationId?: string) => orgs.login(email, organizationId);
const account = (email: string, options?: { verify?: boolean }) => orgs.account(email, options);
const createOrganization = (token: string, name: string, slug: string) => orgs.create(token, name, slug);
const invite = (token: string, organizationId: string, email: string, role?: string) =>
  orgs.invite(token, organizationId, email, role);

const SWITCH = `mutation ($id: ID) { switchOrganization(organizationId: $id) { accessToken refreshToken } }`;
const REFRESH = `mutation ($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken } }`;
const CREATE = CREATE_ORGANIZATION;
const MINE = `{ myOrganizations { role organization { id slug } } }`;
const MEMBERS = `query ($id: ID!) { organization(id: $id) { id members { role user { id } } invitations { email role } } }`;

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

describe('organizations through the gateway', () => {
  let owner: Account;
  let acme: string;

  beforeAll(async () => {
    owner = await account('owner@example.com');
  }, 60_000);

  it('makes an organization whose creator is its owner; a bad or taken slug changes nothing', async () => {
    acme = await createOrganization(owner.accessToken, 'Acme Corp', 'acme-corp');
    const mine = await gql<{ myOrganizations: Array<{ role: string; organization: { id: string; slug: string } }> }>(
      MINE,
      {},
      owner.accessToken,
    );
    expect(mine.data!.myOrganizations).toEqual([{ role: 'OWNER', organization: { id: acme, slug: 'acme-corp' } }]);

    for (const slug of ['Acme', 'a', '-acme', 'acme--corp', 'acme_corp', 'x'.repeat(64)]) {
      const bad = await gql(CREATE, { input: { name: 'Bad', slug } }, owner.accessToken);
      expect({ slug, code: errorCode(bad) }).toEqual({ slug, code: 'BAD_USER_INPUT' });
    }
    expect(errorCode(await gql(CREATE, { input: { name: ' ', slug: 'blank' } }, owner.accessToken))).toBe(
      'BAD_USER_INPUT',
    );
    const taken = await gql(CREATE, { input: { name: 'Other Acme', slug: 'acme-corp' } }, owner.accessToken);
    expect(errorCode(taken)).toBe('CONFLICT');
    expect(taken.errors![0]!.message).toBe('The slug acme-corp is taken');
    // In the caller's language (docs/i18n.md), the code unchanged.
    const german = await platform.graphql(
      { query: CREATE, variables: { input: { name: 'Other Acme', slug: 'acme-corp' } } },
      { authorization: `Bearer ${owner.accessToken}`, 'accept-language': 'de' },
    );
    expect(
      ((await german.json()) as { errors: Array<{ message: string; extensions: unknown }> }).errors[0],
    ).toMatchObject({
      message: 'Die Kennung acme-corp ist vergeben',
      extensions: { code: 'CONFLICT' },
    });
    const after = await gql<{ myOrganizations: unknown[] }>(MINE, {}, owner.accessToken);
    expect(after.data!.myOrganizations).toHaveLength(1);
    // Anonymous callers have none to ask about.
    expect(errorCode(await gql(MINE))).toBe('UNAUTHENTICATED');
  });

  it('joins by the mailed invitation: only the invited, verified address, once', async () => {
    const invitee = await account('invitee@example.com', { verify: false });
    const stranger = await account('stranger@example.com');
    const token = await invite(owner.accessToken, acme, invitee.email);

    // Listed for the owner, without the link.
    const listed = await gql<{ organization: { invitations: Array<{ email: string; role: string }> } }>(
      MEMBERS,
      { id: acme },
      owner.accessToken,
    );
    expect(listed.data!.organization.invitations).toEqual([{ email: invitee.email, role: 'MEMBER' }]);
    // Another account cannot use the link; neither can the invitee before verifying the address.
    expect(errorCode(await gql(ACCEPT, { token }, stranger.accessToken))).toBe('NOT_FOUND');
    expect(errorCode(await gql(ACCEPT, { token }, invitee.accessToken))).toBe('FORBIDDEN');
    await orgs.verify(invitee.email);
    const accepted = await gql<{ acceptInvitation: { id: string } }>(ACCEPT, { token }, invitee.accessToken);
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data!.acceptInvitation.id).toBe(acme);
    expect(errorCode(await gql(ACCEPT, { token }, invitee.accessToken))).toBe('NOT_FOUND');

    const members = await gql<{ organization: { members: Array<{ role: string; user: { id: string } }> } }>(
      MEMBERS,
      { id: acme },
      invitee.accessToken,
    );
    expect(members.data!.organization.members).toEqual([
      { role: 'OWNER', user: { id: owner.id } },
      { role: 'MEMBER', user: { id: invitee.id } },
    ]);
    // A plain member neither sees the invitations nor invites; a non-member learns nothing.
    expect((members.data!.organization as { invitations?: unknown }).invitations).toEqual([]);
    const asMember = await gql(
      INVITE,
      { input: { organizationId: acme, email: 'x@example.com' } },
      invitee.accessToken,
    );
    expect(errorCode(asMember)).toBe('FORBIDDEN');
    const asStranger = await gql(
      INVITE,
      { input: { organizationId: acme, email: 'x@example.com' } },
      stranger.accessToken,
    );
    expect(errorCode(asStranger)).toBe('NOT_FOUND');
    expect((await gql(MEMBERS, { id: acme }, stranger.accessToken)).data).toEqual({ organization: null });
  }, 60_000);

  it('makes an organization active per session: its tokens name it, every subgraph sees it, earlier refresh tokens are spent', async () => {
    const session = await login(owner.email);
    expect(claimsOf(session.accessToken).org).toBeUndefined();
    const switched = await gql<{ switchOrganization: { accessToken: string; refreshToken: string } }>(
      SWITCH,
      { id: acme },
      session.accessToken,
    );
    expect(switched.errors).toBeUndefined();
    const active = switched.data!.switchOrganization;
    expect(claimsOf(active.accessToken)).toMatchObject({
      sub: owner.id,
      sid: claimsOf(session.accessToken).sid,
      org: acme,
    });
    // The session goes on with the new refresh token, naming the organization; the old one is spent.
    const refreshed = await gql<{ refreshToken: { accessToken: string } }>(REFRESH, { token: active.refreshToken });
    expect(claimsOf(refreshed.data!.refreshToken.accessToken).org).toBe(acme);
    // Blog (another subgraph) acts for the caller in the organization: audit names it beside the actor.
    const post = await gql<{ createPost: { id: string } }>(
      `mutation ($input: CreatePostInput!) { createPost(input: $input) { id } }`,
      { input: { title: 'Written in Acme', content: 'Hello from the organization.' } },
      refreshed.data!.refreshToken.accessToken,
    );
    expect(post.errors).toBeUndefined();
    await eventually(async () => {
      const records = await gql<{ auditEvents: { edges: Array<{ node: { metadata: Record<string, unknown> } }> } }>(
        `query ($filter: AuditEventFilter) { auditEvents(first: 1, filter: $filter) { edges { node { metadata } } } }`,
        { filter: { action: 'blog.post.created', targetId: post.data!.createPost.id } },
        adminToken,
      );
      expect(records.data?.auditEvents.edges[0]?.node.metadata).toMatchObject({ actorOrganizationId: acme });
    }, 10_000);

    // Back to none, and never into an organization one is not a member of.
    const none = await gql<{ switchOrganization: { accessToken: string } }>(SWITCH, { id: null }, active.accessToken);
    expect(claimsOf(none.data!.switchOrganization.accessToken).org).toBeUndefined();
    const elsewhere = await createOrganization(adminToken, 'Elsewhere', 'elsewhere');
    expect(errorCode(await gql(SWITCH, { id: elsewhere }, none.data!.switchOrganization.accessToken))).toBe(
      'FORBIDDEN',
    );
    // login names it for members only; a wrong password says nothing about membership.
    expect(claimsOf((await login(owner.email, acme)).accessToken).org).toBe(acme);
    const outsider = await gql(LOGIN, { email: owner.email, password: PASSWORD, organizationId: elsewhere });
    expect(errorCode(outsider)).toBe('FORBIDDEN');
    const wrong = await gql(LOGIN, { email: owner.email, password: 'not the password', organizationId: elsewhere });
    expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
    // API keys never manage organizations.
    const key = await gql<{ createApiKey: { key: string } }>(
      `mutation { createApiKey(input: { name: "script", permissions: ["blog.post.create"] }) { key } }`,
      {},
      session.accessToken,
    );
    expect(key.errors).toBeUndefined();
    const viaKey = await platform.graphql(
      { query: CREATE, variables: { input: { name: 'By key', slug: 'by-key' } } },
      { 'x-api-key': key.data!.createApiKey.key },
    );
    expect(errorCode((await viaKey.json()) as { errors?: [] })).toBe('FORBIDDEN');
    // The refresh token from before the first switch was spent by it: presented now, it is a
    // reuse, which ends the session (as any refresh token used twice does).
    expect(errorCode(await gql(REFRESH, { token: session.refreshToken }))).toBe('UNAUTHENTICATED');
    await eventually(async () => {
      expect(errorCode(await gql(`{ me { id } }`, {}, none.data!.switchOrganization.accessToken))).toBe(
        'UNAUTHENTICATED',
      );
    }, 5_000);
  }, 60_000);

  it('lets owners and administrators manage members, keeps an owner, and ends sessions active in it on removal', async () => {
    const org = await createOrganization(owner.accessToken, 'Globex', 'globex');
    const admin = await account('globex-admin@example.com');
    const member = await account('globex-member@example.com');
    for (const [who, role] of [
      [admin, 'ADMIN'],
      [member, 'MEMBER'],
    ] as const) {
      const token = await invite(owner.accessToken, org, who.email, role);
      expect((await gql(ACCEPT, { token }, who.accessToken)).errors).toBeUndefined();
    }
    const adminSession = await login(admin.email, org);
    // An administrator may not make owners, nor remove or demote one.
    const setRole = `mutation ($org: ID!, $user: ID!, $role: MemberRole!) {
      setMemberRole(organizationId: $org, userId: $user, role: $role) { role } }`;
    const remove = `mutation ($org: ID!, $user: ID!) { removeMember(organizationId: $org, userId: $user) }`;
    expect(errorCode(await gql(setRole, { org, user: member.id, role: 'OWNER' }, adminSession.accessToken))).toBe(
      'FORBIDDEN',
    );
    expect(errorCode(await gql(remove, { org, user: owner.id }, adminSession.accessToken))).toBe('FORBIDDEN');
    const invitedOwner = await gql(
      INVITE,
      { input: { organizationId: org, email: 'boss@example.com', role: 'OWNER' } },
      adminSession.accessToken,
    );
    expect(errorCode(invitedOwner)).toBe('FORBIDDEN');
    // The last owner can neither leave nor be demoted.
    const leave = `mutation ($org: ID!) { leaveOrganization(organizationId: $org) }`;
    expect(errorCode(await gql(leave, { org }, owner.accessToken))).toBe('CONFLICT');
    expect(errorCode(await gql(setRole, { org, user: owner.id, role: 'MEMBER' }, owner.accessToken))).toBe('CONFLICT');

    // The member works in Globex in one session and outside it in another; removal ends the first only.
    const inGlobex = await login(member.email, org);
    const outside = await login(member.email);
    // A key made in Globex acts in Globex (its tokens name it) while its owner belongs to it.
    const key = await gql<{ createApiKey: { key: string; organizationId: string | null } }>(
      `mutation { createApiKey(input: { name: "globex script", permissions: ["blog.post.read"] }) { key organizationId } }`,
      {},
      inGlobex.accessToken,
    );
    expect(key.errors).toBeUndefined();
    expect(key.data!.createApiKey.organizationId).toBe(org);
    const viaKey = async (): Promise<unknown> => {
      const response = await platform.graphql({ query: '{ me { id } }' }, { 'x-api-key': key.data!.createApiKey.key });
      return (await response.json()) as unknown;
    };
    expect(await viaKey()).toEqual({ data: { me: { id: member.id } } });
    const removed = await gql(remove, { org, user: member.id }, adminSession.accessToken);
    expect(removed).toEqual({ data: { removeMember: true } });
    await eventually(async () => {
      expect(errorCode(await gql(`{ me { id } }`, {}, inGlobex.accessToken))).toBe('UNAUTHENTICATED');
    }, 5_000);
    expect(errorCode(await gql(REFRESH, { token: inGlobex.refreshToken }))).toBe('UNAUTHENTICATED');
    expect((await gql(`{ me { id } }`, {}, outside.accessToken)).data).toEqual({ me: { id: member.id } });
    // The key went with the membership.
    await eventually(async () => expect(errorCode((await viaKey()) as { errors?: [] })).toBe('UNAUTHENTICATED'), 5_000);
    expect(errorCode(await gql(SWITCH, { id: org }, outside.accessToken))).toBe('FORBIDDEN');

    // Ownership handed over, the former owner may leave.
    const promoted = await gql(setRole, { org, user: admin.id, role: 'OWNER' }, owner.accessToken);
    expect(promoted).toEqual({ data: { setMemberRole: { role: 'OWNER' } } });
    expect(await gql(leave, { org }, owner.accessToken)).toEqual({ data: { leaveOrganization: true } });
    const left = await gql<{ myOrganizations: Array<{ organization: { slug: string } }> }>(MINE, {}, owner.accessToken);
    expect(left.data!.myOrganizations.map((m) => m.organization.slug)).toEqual(['acme-corp']);
  }, 90_000);
});
