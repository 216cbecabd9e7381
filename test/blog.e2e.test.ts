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
 * Blog as its users meet it, every call through the gateway with real access tokens: authors
 * write their own posts, other users cannot touch them, a moderator can, guests only read, and
 * a long list pages without gaps or duplicates. Authors come from identity in the same query.
 */
const ADMIN = { email: 'root@example.com', password: 'root passphrase for tests' };
const ALICE = { email: 'alice@example.com', password: 'alice passphrase 1', displayName: 'Alice' };
const BOB = { email: 'bob@example.com', password: 'bob passphrase 11', displayName: 'Bob' };
const MODERATOR = { email: 'mod@example.com', password: 'moderator passphrase', displayName: 'Moderator' };

const POST_FIELDS = 'id title content author { id displayName }';
const CREATE_POST = `mutation ($input: CreatePostInput!) { createPost(input: $input) { ${POST_FIELDS} } }`;
const UPDATE_POST = `mutation ($id: ID!, $input: UpdatePostInput!) { updatePost(id: $id, input: $input) { ${POST_FIELDS} } }`;
const DELETE_POST = `mutation ($id: ID!) { deletePost(id: $id) }`;
const POST = `query ($id: ID!) { post(id: $id) { ${POST_FIELDS} } }`;

interface Post {
  id: string;
  title: string;
  content: string;
  author: { id: string; displayName: string };
}

let platform: TestPlatform;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
  graphqlAt<T>(platform.gateway.url, query, variables, token);

async function createPost(token: string, title: string): Promise<Post> {
  const body = await gql<{ createPost: Post }>(CREATE_POST, { input: { title, content: `${title}, the text` } }, token);
  expect(body.errors).toBeUndefined();
  return body.data!.createPost;
}

async function readPost(id: string, token?: string): Promise<Post | null> {
  const body = await gql<{ post: Post | null }>(POST, { id }, token);
  expect(body.errors).toBeUndefined();
  return body.data!.post;
}

function expectDenied(body: GraphQLBody<unknown>, permission: string): void {
  expect(errorCode(body)).toBe('FORBIDDEN');
  expect(body.errors?.[0]?.extensions?.permission).toBe(permission);
  expect(body.data ?? null).toBeNull();
}

beforeAll(async () => {
  platform = await startTestPlatform({ modules: { identity: { seedAdmin: ADMIN } } });
  const handle = platform.subgraphs.identity!;
  await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
  for (const account of [ALICE, BOB, MODERATOR]) await register(platform, account);
  const accounts = { admin: ADMIN, alice: ALICE, bob: BOB, moderator: MODERATOR };
  for (const [name, account] of Object.entries(accounts)) {
    // authz gives new users the `user` role when identity's event arrives: just after registering.
    await eventually(async () => {
      const { accessToken, id } = await signIn(platform, account.email, account.password);
      const me = await gql<{ me: { permissions: string[] } }>('{ me { permissions } }', {}, accessToken);
      expect(me.data?.me.permissions).toContain('blog.post.create');
      tokens[name] = accessToken;
      ids[name] = id;
    });
  }
  // A moderator role, made and given through authz's API as an administrator would.
  const role = await gql<{ createRole: { id: string } }>(
    `mutation ($input: CreateRoleInput!) { createRole(input: $input) { id } }`,
    { input: { name: 'moderator', description: 'Edits and removes any post', permissions: ['blog.post.moderate'] } },
    tokens.admin,
  );
  expect(role.errors).toBeUndefined();
  const assigned = await gql(
    `mutation ($userId: ID!, $roleId: ID!) { assignRole(userId: $userId, roleId: $roleId) { id } }`,
    { userId: ids.moderator, roleId: role.data!.createRole.id },
    tokens.admin,
  );
  expect(assigned.errors).toBeUndefined();
}, 90_000);

afterAll(async () => {
  await platform?.stop();
});

describe('blog through the gateway', () => {
  it('lets an author create, read, update and delete their own post, with the author from identity', async () => {
    const created = await createPost(tokens.alice!, 'First light');
    expect(created).toMatchObject({ title: 'First light', author: { id: ids.alice, displayName: 'Alice' } });

    expect(await readPost(created.id, tokens.alice)).toEqual(created);

    const updated = await gql<{ updatePost: Post }>(
      UPDATE_POST,
      { id: created.id, input: { title: 'First light, revised' } },
      tokens.alice,
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updatePost).toEqual({ ...created, title: 'First light, revised' });
    expect((await readPost(created.id))?.title).toBe('First light, revised');

    const mine = await gql<{ me: { posts: { edges: Array<{ node: { id: string } }> } } }>(
      '{ me { posts(first: 50) { edges { node { id } } } } }',
      {},
      tokens.alice,
    );
    expect(mine.data!.me.posts.edges.map((e) => e.node.id)).toContain(created.id);

    expect(await gql(DELETE_POST, { id: created.id }, tokens.alice)).toEqual({ data: { deletePost: true } });
    expect(await readPost(created.id)).toBeNull();
  });

  it("refuses another user's update and delete of a post as FORBIDDEN, and changes nothing", async () => {
    const post = await createPost(tokens.alice!, 'Not yours');

    expectDenied(
      await gql(UPDATE_POST, { id: post.id, input: { title: 'Mine now' } }, tokens.bob),
      'blog.post.moderate',
    );
    expectDenied(await gql(DELETE_POST, { id: post.id }, tokens.bob), 'blog.post.moderate');

    expect(await readPost(post.id)).toEqual(post);
  });

  it("lets a moderator update and delete anyone's post", async () => {
    const post = await createPost(tokens.bob!, 'Needs a moderator');

    const edited = await gql<{ updatePost: Post }>(
      UPDATE_POST,
      { id: post.id, input: { content: 'Edited by a moderator' } },
      tokens.moderator,
    );
    expect(edited.errors).toBeUndefined();
    // Moderating does not make the moderator the author.
    expect(edited.data!.updatePost).toEqual({ ...post, content: 'Edited by a moderator' });

    expect(await gql(DELETE_POST, { id: post.id }, tokens.moderator)).toEqual({ data: { deletePost: true } });
    expect(await readPost(post.id)).toBeNull();
  });

  it('lets a guest read but not write', async () => {
    const post = await createPost(tokens.alice!, 'For everyone');

    expect(await readPost(post.id)).toEqual(post);
    const list = await gql<{ posts: { edges: Array<{ node: { id: string } }> } }>(
      '{ posts(first: 50) { edges { node { id } } } }',
    );
    expect(list.data!.posts.edges.map((e) => e.node.id)).toContain(post.id);

    expectDenied(await gql(CREATE_POST, { input: { title: 'Anonymous', content: 'Nope' } }), 'blog.post.create');
    const update = await gql(UPDATE_POST, { id: post.id, input: { title: 'Defaced' } });
    expect(errorCode(update)).toBe('FORBIDDEN');
    expect(errorCode(await gql(DELETE_POST, { id: post.id }))).toBe('FORBIDDEN');
    expect(await readPost(post.id)).toEqual(post);
  });

  it('walks 45 posts in pages of 20, newest first, without gaps or duplicates', async () => {
    const created: string[] = [];
    for (let i = 1; i <= 45; i++) created.push((await createPost(tokens.bob!, `Page walk ${i}`)).id);

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let after: string | null = null;
    for (;;) {
      const body: GraphQLBody<{
        posts: {
          totalCount: number;
          edges: Array<{ node: { id: string; author: { displayName: string } } }>;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      }> = await gql(
        `query ($authorId: ID, $after: String) {
          posts(first: 20, after: $after, authorId: $authorId) {
            totalCount edges { node { id author { displayName } } } pageInfo { hasNextPage endCursor }
          }
        }`,
        { authorId: ids.bob, after },
      );
      expect(body.errors).toBeUndefined();
      const page = body.data!.posts;
      expect(page.totalCount).toBe(45);
      expect(page.edges.every((e) => e.node.author.displayName === 'Bob')).toBe(true);
      pageSizes.push(page.edges.length);
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }

    expect(pageSizes).toEqual([20, 20, 5]);
    expect(seen).toEqual([...created].reverse());
  });
});
