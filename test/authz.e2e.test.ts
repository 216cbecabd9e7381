import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@platform/kernel/testing';
import identity from '@platform/identity';
import { SERVICE_CREDENTIAL_HEADER, serviceCredential, serviceSecret } from '@platform/kernel/gateway';
import {
  errorCode,
  graphqlAt,
  register,
  signIn,
  startTestPlatform,
  type GraphQLBody,
  type TestPlatform,
} from './helpers.js';
import { startSecondProcess, type SecondProcess } from './second-process.js';

/**
 * Roles and permissions as an administrator and a frontend use them: every call through the
 * gateway with real access tokens; every subgraph asks authz for the caller's permissions and
 * caches them until authz's events say otherwise.
 */

const ADMIN = { email: 'root@example.com', password: 'root passphrase for tests' };
const WRITER = { email: 'writer@example.com', password: 'writer passphrase 1', displayName: 'Writer' };
const EDITOR = { email: 'editor@example.com', password: 'editor passphrase 1', displayName: 'Editor' };
/** The requirement: a change takes effect everywhere within a second. */
const PROPAGATION_MS = 1_000;

let platform: TestPlatform;
const tokens: Record<string, string> = {};
const userIds: Record<string, string> = {};

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
  graphqlAt<T>(platform.gateway.url, query, variables, token);

const code = errorCode;

const ME = `{ me { id permissions roles { name } } }`;
const CREATE_ROLE = `mutation ($input: CreateRoleInput!) { createRole(input: $input) { id name permissions } }`;
const ASSIGN = `mutation ($userId: ID!, $roleId: ID!) { assignRole(userId: $userId, roleId: $roleId) { id email roles { name } } }`;
const UNASSIGN = `mutation ($userId: ID!, $roleId: ID!) { unassignRole(userId: $userId, roleId: $roleId) { id roles { name } } }`;
const CREATE_POST = `mutation ($input: CreatePostInput!) { createPost(input: $input) { id title author { id } } }`;
const UPDATE_POST = `mutation ($id: ID!, $input: UpdatePostInput!) { updatePost(id: $id, input: $input) { id title } }`;

beforeAll(async () => {
  platform = await startTestPlatform({ modules: { identity: { seedAdmin: ADMIN } } });
  const handle = platform.subgraphs.identity!;
  await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
  await register(platform, WRITER);
  await register(platform, EDITOR);
  for (const [name, account] of Object.entries({ admin: ADMIN, writer: WRITER, editor: EDITOR })) {
    // authz learns of new users from identity's events: the first roles arrive just after.
    await eventually(async () => {
      const { accessToken, id } = await signIn(platform, account.email, account.password);
      tokens[name] = accessToken;
      userIds[name] = id;
      const me = await gql<{ me: { roles: Array<{ name: string }> } }>(ME, {}, accessToken);
      expect(me.data?.me.roles.map((r) => r.name)).toContain(name === 'admin' ? 'admin' : 'user');
    });
  }
}, 90_000);

afterAll(async () => {
  await platform?.stop();
});

describe('permissions through the gateway', () => {
  it('gives anonymous callers exactly the guest permissions', async () => {
    const read = await gql(`{ posts(first: 1) { totalCount } }`);
    expect(read.errors).toBeUndefined();
    const write = await gql(CREATE_POST, { input: { title: 'Anonymous', content: 'Hello' } });
    expect(code(write)).toBe('FORBIDDEN');
    expect(write.errors?.[0]?.message).toContain('blog.post.create');
    const roles = await gql(`{ roles { totalCount } }`);
    expect(code(roles)).toBe('FORBIDDEN');
  });

  it("shows each user their own permissions, and nobody else's", async () => {
    const me = await gql<{ me: { permissions: string[] } }>(ME, {}, tokens.writer);
    expect(me.data!.me.permissions).toEqual([
      'blog.post.create',
      'blog.post.delete',
      'blog.post.read',
      'blog.post.update',
    ]);
    const other = await gql(
      `query ($id: ID!) { user(id: $id) { id permissions } }`,
      // The administrator: an unverified account (the editor's) is not shown to others at all.
      { id: userIds.admin },
      tokens.writer,
    );
    expect(code(other)).toBe('FORBIDDEN');
  });

  it('lets a plain user not create roles (FORBIDDEN naming authz.role.create)', async () => {
    const body = await gql(CREATE_ROLE, { input: { name: 'self-made' } }, tokens.writer);
    expect(code(body)).toBe('FORBIDDEN');
    expect(body.errors?.[0]?.message).toContain('authz.role.create');
    expect(body.errors?.[0]?.extensions?.permission).toBe('authz.role.create');
  });

  it('puts a new role into effect within a second of assigning it, and out within a second of unassigning it', async () => {
    const post = await gql<{ createPost: { id: string } }>(
      CREATE_POST,
      { input: { title: "Writer's post", content: 'First draft' } },
      tokens.writer,
    );
    expect(post.errors).toBeUndefined();
    const postId = post.data!.createPost.id;

    // Cached everywhere before the change: the editor may not edit someone else's post.
    const before = await gql(UPDATE_POST, { id: postId, input: { title: 'Edited' } }, tokens.editor);
    expect(code(before)).toBe('FORBIDDEN');

    const role = await gql<{ createRole: { id: string; permissions: string[] } }>(
      CREATE_ROLE,
      { input: { name: 'editor', description: 'Edits anyone', permissions: ['blog.post.moderate'] } },
      tokens.admin,
    );
    expect(role.errors).toBeUndefined();
    expect(role.data!.createRole.permissions).toEqual(['blog.post.moderate']);
    const roleId = role.data!.createRole.id;

    const assigned = await gql(ASSIGN, { userId: userIds.editor, roleId }, tokens.admin);
    expect(assigned).toEqual({
      data: {
        assignRole: { id: userIds.editor, email: EDITOR.email, roles: [{ name: 'editor' }, { name: 'user' }] },
      },
    });
    await eventually(async () => {
      const me = await gql<{ me: { permissions: string[] } }>(ME, {}, tokens.editor);
      expect(me.data!.me.permissions).toContain('blog.post.moderate');
      const edit = await gql(UPDATE_POST, { id: postId, input: { title: 'Moderated' } }, tokens.editor);
      expect(edit).toEqual({ data: { updatePost: { id: postId, title: 'Moderated' } } });
    }, PROPAGATION_MS);

    const unassigned = await gql(UNASSIGN, { userId: userIds.editor, roleId }, tokens.admin);
    expect(unassigned.errors).toBeUndefined();
    await eventually(async () => {
      const me = await gql<{ me: { permissions: string[] } }>(ME, {}, tokens.editor);
      expect(me.data!.me.permissions).not.toContain('blog.post.moderate');
      const edit = await gql(UPDATE_POST, { id: postId, input: { title: 'Again' } }, tokens.editor);
      expect(code(edit)).toBe('FORBIDDEN');
    }, PROPAGATION_MS);
  });

  it("lets the administrator manage accounts, and nobody else (identity's admin operations)", async () => {
    const USERS = `query ($search: String) { users(search: $search) { totalCount edges { node { id email } } } }`;
    const denied = await gql(USERS, { search: 'writer' }, tokens.writer);
    expect(code(denied)).toBe('FORBIDDEN');
    expect(denied.errors?.[0]?.extensions?.permission).toBe('identity.user.read');
    const found = await gql(USERS, { search: 'writer' }, tokens.admin);
    expect(found).toEqual({
      data: { users: { totalCount: 1, edges: [{ node: { id: userIds.writer, email: WRITER.email } }] } },
    });

    const UPDATE_USER = `mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id displayName } }`;
    const renamedByPeer = await gql(
      UPDATE_USER,
      { id: userIds.writer, input: { displayName: 'Hacked' } },
      tokens.editor,
    );
    expect(code(renamedByPeer)).toBe('FORBIDDEN');
    const renamed = await gql(UPDATE_USER, { id: userIds.writer, input: { displayName: 'Renamed' } }, tokens.admin);
    expect(renamed).toEqual({ data: { updateUser: { id: userIds.writer, displayName: 'Renamed' } } });

    const doomed = { email: 'doomed@example.com', password: 'doomed passphrase 1', displayName: 'Doomed' };
    await register(platform, doomed);
    const doomedId = (await signIn(platform, doomed.email, doomed.password)).id;
    const DELETE_USER = `mutation ($id: ID!) { deleteUser(id: $id) }`;
    expect(code(await gql(DELETE_USER, { id: doomedId }, tokens.writer))).toBe('FORBIDDEN');
    expect(await gql(DELETE_USER, { id: doomedId }, tokens.admin)).toEqual({ data: { deleteUser: true } });
    // authz forgets the deleted user: no role can be given to them any more.
    const roles = await gql<{ roles: { edges: Array<{ node: { id: string; name: string } }> } }>(
      `{ roles { edges { node { id name } } } }`,
      {},
      tokens.admin,
    );
    const userRole = roles.data!.roles.edges.find(({ node }) => node.name === 'user')!.node.id;
    await eventually(async () => {
      expect(code(await gql(ASSIGN, { userId: doomedId, roleId: userRole }, tokens.admin))).toBe('NOT_FOUND');
    });
  });

  it('answers internal routes only to the platform’s services, with 401 otherwise', async () => {
    const credential = serviceCredential(serviceSecret(platform.subgraphs.blog!.runtime.platform));
    const routes = [
      `${platform.subgraphs.identity!.baseUrl}/internal/revocations`,
      `${platform.subgraphs.authz!.baseUrl}/internal/permissions`,
    ];
    for (const url of routes) {
      for (const headers of [{}, { [SERVICE_CREDENTIAL_HEADER]: 'not-the-credential' }] as Array<
        Record<string, string>
      >) {
        const refused = await fetch(url, { headers });
        expect({ url, status: refused.status }).toEqual({ url, status: 401 });
        expect(await refused.json()).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
      }
      const answered = await fetch(url, { headers: { [SERVICE_CREDENTIAL_HEADER]: credential } });
      expect({ url, status: answered.status }).toEqual({ url, status: 200 });
    }
    const metrics = await (await fetch(`${platform.subgraphs.identity!.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/service_credential_refusals_total\{[^}]*route="internal"[^}]*\} [1-9]/);
  });

  it("answers `_service { sdl }` only to the platform's services, so composition keeps working", async () => {
    const credential = serviceCredential(serviceSecret(platform.subgraphs.blog!.runtime.platform));
    const ask = async (url: string, query: string, headers: Record<string, string> = {}) => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query }),
      });
      return { status: response.status, body: (await response.json()) as GraphQLBody<{ _service: { sdl: string } }> };
    };
    for (const [name, handle] of Object.entries(platform.subgraphs)) {
      for (const query of ['{ _service { sdl } }', '{ ... on Query { _service { sdl } } }']) {
        const refused = await ask(handle.url, query);
        expect({ name, status: refused.status, code: refused.body.errors?.[0]?.extensions?.code }).toEqual({
          name,
          status: 401,
          code: 'UNAUTHENTICATED',
        });
        expect(refused.body.data ?? null).toBeNull();
      }
      const answered = await ask(handle.url, '{ _service { sdl } }', { [SERVICE_CREDENTIAL_HEADER]: credential });
      expect({ name, errors: answered.body.errors }).toEqual({ name, errors: undefined });
      expect(answered.body.data!._service.sdl).toContain('@link');
    }
  });
});

// Two processes share the change only through Redis, so this needs it (CI runs it with REDIS_URL).
if (process.env.REDIS_URL) {
  describe('a second gateway and blog subgraph in another process, sharing Redis', () => {
    let second: SecondProcess;

    beforeAll(async () => {
      second = await startSecondProcess(platform);
    });

    afterAll(async () => {
      await second?.stop();
    });

    it('sees role changes made through the first within a second', async () => {
      const url = second.gatewayUrl;
      const post = await graphqlAt<{ createPost: { id: string } }>(
        url,
        CREATE_POST,
        { input: { title: 'Second process', content: 'Hello from the other side' } },
        tokens.writer,
      );
      expect(post.errors).toBeUndefined();
      const postId = post.data!.createPost.id;
      const denied = await graphqlAt(url, UPDATE_POST, { id: postId, input: { title: 'No' } }, tokens.editor);
      expect(code(denied)).toBe('FORBIDDEN');

      const role = await gql<{ createRole: { id: string } }>(
        CREATE_ROLE,
        { input: { name: 'moderator', permissions: ['blog.post.moderate'] } },
        tokens.admin,
      );
      const roleId = role.data!.createRole.id;
      await gql(ASSIGN, { userId: userIds.editor, roleId }, tokens.admin);
      await eventually(async () => {
        const edit = await graphqlAt(url, UPDATE_POST, { id: postId, input: { title: 'Yes' } }, tokens.editor);
        expect(edit).toEqual({ data: { updatePost: { id: postId, title: 'Yes' } } });
      }, PROPAGATION_MS);

      await gql(UNASSIGN, { userId: userIds.editor, roleId }, tokens.admin);
      await eventually(async () => {
        const edit = await graphqlAt(url, UPDATE_POST, { id: postId, input: { title: 'No again' } }, tokens.editor);
        expect(code(edit)).toBe('FORBIDDEN');
      }, PROPAGATION_MS);
    });
  });
}
