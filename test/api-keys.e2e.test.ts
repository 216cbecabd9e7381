import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@platform/kernel/testing';
import { collect, openSocketWith } from './fixtures/subscriptions-client.js';
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
 * API keys and service accounts (issue 21, part 3) through the gateway, as a script would use
 * them: a member makes a key with some of their permissions, uses it (X-API-Key and Bearer), and
 * it acts with exactly those, while its owner holds them, until it is revoked or expires.
 */

const ADMIN = { email: 'root@example.com', password: 'root passphrase for tests' };
const MEMBER = { email: 'member@example.com', password: 'member passphrase 7', displayName: 'Member' };

let platform: TestPlatform;
let adminToken: string;
let memberToken: string;
let memberId: string;
let auditorRoleId: string;

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
  graphqlAt<T>(platform.gateway.url, query, variables, token);

/** One operation sent with `headers` (an API key), its HTTP status and body. */
async function withHeaders<T = Record<string, unknown>>(
  headers: Record<string, string>,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ status: number; body: GraphQLBody<T> }> {
  const response = await platform.graphql({ query, variables }, headers);
  return { status: response.status, body: (await response.json()) as GraphQLBody<T> };
}

const viaHeader = (key: string) => ({ 'x-api-key': key });
const viaBearer = (key: string) => ({ authorization: `Bearer ${key}` });

const CREATE_KEY = `mutation ($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { id key prefix name permissions expiresAt ownerId } }`;
const USERS = `{ users(first: 5) { totalCount } }`;
const AUDIT = `{ auditEvents(first: 1) { totalCount } }`;
const CREATE_POST = `mutation ($input: CreatePostInput!) { createPost(input: $input) { id author { id } } }`;

interface CreatedKey {
  id: string;
  key: string;
  prefix: string;
  name: string;
  permissions: string[];
  expiresAt: string | null;
  ownerId: string;
}

async function createKey(token: string, input: Record<string, unknown>): Promise<CreatedKey> {
  const body = await gql<{ createApiKey: CreatedKey }>(CREATE_KEY, { input }, token);
  expect(body.errors).toBeUndefined();
  return body.data!.createApiKey;
}

const tomorrow = (): string => new Date(Date.now() + 86_400_000).toISOString();

beforeAll(async () => {
  platform = await startTestPlatform({ modules: { identity: { seedAdmin: ADMIN } } });
  const handle = platform.subgraphs.identity!;
  await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
  await register(platform, MEMBER);
  await eventually(async () => {
    adminToken = (await signIn(platform, ADMIN.email, ADMIN.password)).accessToken;
    const me = await gql<{ me: { roles: Array<{ name: string }> } }>(`{ me { roles { name } } }`, {}, adminToken);
    expect(me.data!.me.roles.map((role) => role.name)).toContain('admin');
  }, 20_000);
  // The member holds the `user` role (blog posts) and an auditor role the administrator gives.
  const role = await gql<{ createRole: { id: string } }>(
    `mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }`,
    { input: { name: 'auditor', permissions: ['audit.event.read', 'identity.user.read'] } },
    adminToken,
  );
  expect(role.errors).toBeUndefined();
  auditorRoleId = role.data!.createRole.id;
  await eventually(async () => {
    ({ accessToken: memberToken, id: memberId } = await signIn(platform, MEMBER.email, MEMBER.password));
    const assigned = await gql(
      `mutation ($userId: ID!, $roleId: ID!) { assignRole(userId: $userId, roleId: $roleId) { id } }`,
      { userId: memberId, roleId: auditorRoleId },
      adminToken,
    );
    expect(assigned.errors).toBeUndefined();
  }, 20_000);
  await eventually(async () => {
    expect((await gql(USERS, {}, memberToken)).errors).toBeUndefined();
  });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('API keys through the gateway', () => {
  let created: CreatedKey;

  it('refuses a key with a permission its creator does not hold (the delegation rule)', async () => {
    const body = await gql(
      CREATE_KEY,
      { input: { name: 'too much', permissions: ['identity.user.read', 'identity.user.delete'] } },
      memberToken,
    );
    expect(errorCode(body)).toBe('FORBIDDEN');
    expect(body.errors![0]!.extensions).toEqual(
      expect.objectContaining({ permission: 'identity.user.delete', reason: 'delegation' }),
    );
  });

  it('makes a key shown once, prefixed, with the permissions asked for', async () => {
    const expiresAt = tomorrow();
    created = await createKey(memberToken, {
      name: 'CI reader',
      permissions: ['identity.user.read', 'blog.post.create'],
      expiresAt,
    });
    expect(created.key).toMatch(/^plk_[0-9A-Za-z]{46}$/);
    expect(created.prefix).toBe(created.key.slice(0, 12));
    expect(created.permissions).toEqual(['blog.post.create', 'identity.user.read']);
    expect(created.ownerId).toBe(memberId);
    expect(new Date(created.expiresAt!).toISOString()).toBe(expiresAt);
    // Listed without the key itself.
    const listed = await gql<{ apiKeys: Array<Record<string, unknown>> }>(
      `{ apiKeys { id name prefix permissions } }`,
      {},
      memberToken,
    );
    expect(listed.data!.apiKeys).toEqual([
      { id: created.id, name: 'CI reader', prefix: created.prefix, permissions: created.permissions },
    ]);
    expect(JSON.stringify(listed)).not.toContain(created.key);
  });

  it('acts as its owner with X-API-Key and with Authorization: Bearer', async () => {
    for (const headers of [viaHeader(created.key), viaBearer(created.key)]) {
      const { status, body } = await withHeaders<{ users: { totalCount: number } }>(headers, USERS);
      expect(status).toBe(200);
      expect(body.errors).toBeUndefined();
      expect(body.data!.users.totalCount).toBeGreaterThanOrEqual(2);
    }
    const me = await withHeaders<{ me: { id: string } }>(viaHeader(created.key), `{ me { id } }`);
    expect(me.body.data!.me.id).toBe(memberId);
  });

  it('acts with only its permissions, not all of its owner’s', async () => {
    expect((await gql(AUDIT, {}, memberToken)).errors).toBeUndefined();
    const { body } = await withHeaders(viaHeader(created.key), AUDIT);
    expect(errorCode(body)).toBe('FORBIDDEN');
    // Nor may a key make keys (a leaked key must not outlive its revocation through others).
    const minted = await withHeaders(viaHeader(created.key), CREATE_KEY, {
      input: { name: 'child', permissions: ['identity.user.read'] },
    });
    expect(errorCode(minted.body)).toBe('FORBIDDEN');
    // Nor manage the account it acts for: its password, second factor, sessions, profile.
    for (const operation of [
      `mutation { enrollTotp { otpauthUri } }`,
      `mutation { updateProfile(input: { displayName: "Renamed by a key" }) { id } }`,
      `mutation { changePassword(currentPassword: "x", newPassword: "a new passphrase 9") }`,
      `{ sessions { id } }`,
    ]) {
      expect(errorCode((await withHeaders(viaHeader(created.key), operation)).body)).toBe('FORBIDDEN');
    }
  });

  it('is named beside its owner in the audit records of what it does, and its last use is recorded', async () => {
    const post = await withHeaders<{ createPost: { id: string; author: { id: string } } }>(
      viaHeader(created.key),
      CREATE_POST,
      { input: { title: 'Posted by a key', content: 'From CI' } },
    );
    expect(post.body.errors).toBeUndefined();
    expect(post.body.data!.createPost.author.id).toBe(memberId);
    await eventually(async () => {
      const records = await gql<{
        auditEvents: { edges: Array<{ node: { actor: { id: string }; metadata: Record<string, unknown> } }> };
      }>(
        `query ($actorId: ID!) { auditEvents(filter: { actorId: $actorId, action: "blog.post.created" }, first: 5) {
          edges { node { actor { id } metadata } } } }`,
        { actorId: memberId },
        adminToken,
      );
      expect(records.errors).toBeUndefined();
      const [record] = records.data!.auditEvents.edges;
      expect(record!.node.actor.id).toBe(memberId);
      expect(record!.node.metadata.actorApiKeyId).toBe(created.id);
      // Its creation is a security event about the key, by the member, without the key itself.
      const made = await gql<{
        auditEvents: { edges: Array<{ node: { actor: { id: string }; targetType: string; targetId: string } }> };
      }>(
        `{ auditEvents(filter: { action: "identity.apikey.created" }, first: 5) {
          edges { node { actor { id } targetType targetId metadata } } } }`,
        {},
        adminToken,
      );
      expect(made.data!.auditEvents.edges.map(({ node }) => node)).toContainEqual(
        expect.objectContaining({ actor: { id: memberId }, targetType: 'apikey', targetId: created.id }),
      );
      expect(JSON.stringify(made)).not.toContain(created.key);
    }, 15_000);
    const listed = await gql<{ apiKeys: Array<{ lastUsedAt: string | null; lastUsedIp: string | null }> }>(
      `{ apiKeys { lastUsedAt lastUsedIp } }`,
      {},
      memberToken,
    );
    expect(listed.data!.apiKeys[0]!.lastUsedAt).not.toBeNull();
    expect(listed.data!.apiKeys[0]!.lastUsedIp).toMatch(/127\.0\.0\.1|::1/);
  });

  it('loses a permission its owner loses', async () => {
    const unassigned = await gql(
      `mutation ($userId: ID!, $roleId: ID!) { unassignRole(userId: $userId, roleId: $roleId) { id } }`,
      { userId: memberId, roleId: auditorRoleId },
      adminToken,
    );
    expect(unassigned.errors).toBeUndefined();
    await eventually(async () => {
      expect(errorCode((await withHeaders(viaHeader(created.key), USERS)).body)).toBe('FORBIDDEN');
    }, 10_000);
    // What the owner still holds, the key still may do.
    const post = await withHeaders(viaHeader(created.key), CREATE_POST, { input: { title: 'Still', content: 'ok' } });
    expect(post.body.errors).toBeUndefined();
  });

  it('stops working once revoked', async () => {
    const revoked = await gql<{ revokeApiKey: { id: string; revokedAt: string | null } }>(
      `mutation ($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`,
      { id: created.id },
      memberToken,
    );
    expect(revoked.errors).toBeUndefined();
    expect(revoked.data!.revokeApiKey.revokedAt).not.toBeNull();
    await eventually(async () => {
      for (const headers of [viaHeader(created.key), viaBearer(created.key)]) {
        const { status, body } = await withHeaders(headers, `{ me { id } }`);
        expect(status).toBe(401);
        expect(errorCode(body)).toBe('UNAUTHENTICATED');
      }
    }, 10_000);
  });

  it('follows subscriptions with its key in connection_init, within its permissions', async () => {
    const { key } = await createKey(memberToken, { name: 'feed reader', permissions: ['blog.post.read'] });
    const typo = `${key.slice(0, -1)}${key.at(-1) === 'A' ? 'B' : 'A'}`;
    for (const params of [viaHeader(key), viaBearer(key)]) {
      const socket = openSocketWith(platform.gateway.url, params);
      try {
        await socket.connected;
        const feed = collect<{ postCreated: { id: string } }>(socket.client, `subscription { postCreated { id } }`);
        // Posts until one arrives: the subscription is in place upstream a moment after it starts.
        const posted = new Set<string>();
        await eventually(async () => {
          const post = await gql<{ createPost: { id: string } }>(
            CREATE_POST,
            { input: { title: 'For the key’s feed', content: 'Sent to a socket an API key opened' } },
            memberToken,
          );
          posted.add(post.data!.createPost.id);
          await feed.next(1, 1_000);
          expect(posted.has(feed.results[0]!.data!.postCreated.id)).toBe(true);
        }, 15_000);
        // Beyond the key's permissions: refused as for any caller without it.
        const write = collect(socket.client, `mutation { createPost(input: { title: "x", content: "y" }) { id } }`);
        await write.done;
        expect(write.results[0]?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      } finally {
        await socket.dispose();
      }
    }
    const refused = openSocketWith(platform.gateway.url, viaHeader(typo));
    expect(await refused.closed).toEqual({ code: 4401, reason: 'Invalid API key' });
    const both = openSocketWith(platform.gateway.url, { ...viaHeader(key), authorization: `Bearer ${memberToken}` });
    expect((await both.closed).code).toBe(4401);
  }, 60_000);

  it('refuses a key whose checksum does not hold, with UNAUTHENTICATED', async () => {
    const { key } = await createKey(memberToken, { name: 'typo', permissions: ['blog.post.create'] });
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    const typo = `${key.slice(0, -1)}${last}`;
    const { status, body } = await withHeaders(viaHeader(typo), `{ me { id } }`);
    expect(status).toBe(401);
    expect(errorCode(body)).toBe('UNAUTHENTICATED');
    expect(body.errors![0]!.message).toBe('Invalid API key');
    // The real one still works.
    expect((await withHeaders(viaHeader(key), `{ me { id } }`)).body.errors).toBeUndefined();
  });

  it('refuses an expired key', async () => {
    const { id, key } = await createKey(memberToken, {
      name: 'short-lived',
      permissions: ['blog.post.create'],
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    // Its hour passes: identity's row says so (no clock to move in the platform).
    const runtime = platform.subgraphs.identity!.runtime;
    const table = `"${runtime.db.schema}"."api_key"`;
    await runtime.em().execute(`update ${table} set "expires_at" = now() - interval '1 second' where "id" = ?`, [id]);
    const { status, body } = await withHeaders(viaHeader(key), `{ me { id } }`);
    expect(status).toBe(401);
    expect(errorCode(body)).toBe('UNAUTHENTICATED');
  });

  it('refuses to make an expired key', async () => {
    const body = await gql(
      CREATE_KEY,
      { input: { name: 'past', permissions: [], expiresAt: new Date(Date.now() - 1000).toISOString() } },
      memberToken,
    );
    expect(errorCode(body)).toBe('BAD_USER_INPUT');
  });
});

describe('API keys and delegation', () => {
  it('hand out only what the key itself holds, not all its owner does', async () => {
    // The administrator holds everything; the key only role assignment.
    const { key } = await createKey(adminToken, {
      name: 'role robot',
      permissions: ['authz.role.assign', 'authz.role.read'],
    });
    const ASSIGN = `mutation ($userId: ID!, $roleId: ID!) { assignRole(userId: $userId, roleId: $roleId) { id } }`;
    const refused = await withHeaders(viaHeader(key), ASSIGN, { userId: memberId, roleId: auditorRoleId });
    expect(errorCode(refused.body)).toBe('FORBIDDEN');
    expect(refused.body.errors![0]!.extensions).toEqual(expect.objectContaining({ reason: 'delegation' }));
    // The administrator themself may.
    expect((await gql(ASSIGN, { userId: memberId, roleId: auditorRoleId }, adminToken)).errors).toBeUndefined();
  });
});

describe('service accounts', () => {
  it('are made by holders of identity.serviceaccount.create, have keys, and cannot sign in', async () => {
    const refused = await gql(`mutation { createServiceAccount(input: { name: "Not mine" }) { id } }`, {}, memberToken);
    expect(errorCode(refused)).toBe('FORBIDDEN');

    const made = await gql<{ createServiceAccount: { id: string; displayName: string; serviceAccount: boolean } }>(
      `mutation { createServiceAccount(input: { name: "Nightly import" }) { id displayName serviceAccount } }`,
      {},
      adminToken,
    );
    expect(made.errors).toBeUndefined();
    const account = made.data!.createServiceAccount;
    expect(account).toMatchObject({ displayName: 'Nightly import', serviceAccount: true });

    // Nobody else makes keys for it without identity.apikey.create.
    const notAllowed = await gql(
      CREATE_KEY,
      { input: { name: 'sneaky', permissions: ['blog.post.create'], ownerId: account.id } },
      memberToken,
    );
    expect(errorCode(notAllowed)).toBe('FORBIDDEN');

    const key = await createKey(adminToken, {
      name: 'import job',
      permissions: ['blog.post.create'],
      ownerId: account.id,
    });
    expect(key.ownerId).toBe(account.id);
    // authz gives the account its default role once it hears of it.
    await eventually(async () => {
      const post = await withHeaders<{ createPost: { author: { id: string } } }>(viaHeader(key.key), CREATE_POST, {
        input: { title: 'Imported', content: 'by the nightly job' },
      });
      expect(post.body.errors).toBeUndefined();
      expect(post.body.data!.createPost.author.id).toBe(account.id);
    }, 10_000);

    // Its keys are listed for holders of identity.apikey.read.
    const listed = await gql<{ apiKeys: Array<{ id: string }> }>(
      `query ($ownerId: ID!) { apiKeys(ownerId: $ownerId) { id } }`,
      { ownerId: account.id },
      adminToken,
    );
    expect(listed.data!.apiKeys).toEqual([{ id: key.id }]);
    expect(errorCode(await gql(`{ apiKeys(all: true) { id } }`, {}, memberToken))).toBe('FORBIDDEN');

    // It has no password: login refuses its address like any wrong password.
    const login = await gql(
      `mutation ($email: String!) { login(email: $email, password: "anything at all 1") { accessToken } }`,
      { email: `service-account-${account.id}@service-accounts.invalid` },
    );
    expect(errorCode(login)).toBe('UNAUTHENTICATED');
  });
});
