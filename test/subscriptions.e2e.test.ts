import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '@platform/kernel/testing';
import type { GatewayHandle } from '@platform/gateway';
import identity from '@platform/identity';
import { startTestPlatform, type TestPlatform } from './helpers.js';
import { collect, openSocket, type TestSocket } from './fixtures/subscriptions-client.js';

/**
 * GraphQL subscriptions through the gateway as a frontend uses them: a real graphql-ws client on
 * the gateway's /graphql, events completed across subgraphs, authorization on every delivery,
 * sockets closed on revocation and expiry, limits, and no leftovers.
 */
interface Body<T = Record<string, unknown>> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

const ADMIN = { email: 'root@example.com', password: 'root passphrase for tests' };
const WRITER = { email: 'writer@example.com', password: 'writer passphrase 1', displayName: 'Writer' };
const READER = { email: 'reader@example.com', password: 'reader passphrase 1', displayName: 'Reader' };

const POST_CREATED = 'subscription { postCreated { id title author { id displayName } } }';
const CREATE_POST = 'mutation ($input: CreatePostInput!) { createPost(input: $input) { id } }';

let platform: TestPlatform;
let gateway: GatewayHandle;
const tokens: Record<string, string> = {};
const userIds: Record<string, string> = {};
const opened: TestSocket[] = [];

async function gql<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<Body<T>> {
  const response = await fetch(platform.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Body<T>;
}

async function signIn(
  email: string,
  password: string,
): Promise<{ accessToken: string; refreshToken: string; id: string }> {
  const body = await gql<{ login: { accessToken: string; refreshToken: string; user: { id: string } } }>(
    `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken user { id } } }`,
    { email, password },
  );
  expect(body.errors).toBeUndefined();
  return { ...body.data!.login, id: body.data!.login.user.id };
}

function socket(token?: string): TestSocket {
  const opened1 = openSocket(platform.gateway.url, token);
  opened.push(opened1);
  return opened1;
}

async function createPost(title: string, token = tokens.writer): Promise<string> {
  const body = await gql<{ createPost: { id: string } }>(CREATE_POST, { input: { title, content: 'Body' } }, token);
  expect(body.errors).toBeUndefined();
  return body.data!.createPost.id;
}

beforeAll(async () => {
  platform = await startTestPlatform({ modules: { identity: { seedAdmin: ADMIN } } });
  gateway = platform.gateway as GatewayHandle;
  const handle = platform.subgraphs.identity!;
  await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
  for (const account of [WRITER, READER]) {
    const body = await gql(`mutation ($input: RegisterInput!) { register(input: $input) { id } }`, { input: account });
    expect(body.errors).toBeUndefined();
  }
  for (const [name, account] of Object.entries({ admin: ADMIN, writer: WRITER, reader: READER })) {
    await eventually(async () => {
      const { accessToken, id } = await signIn(account.email, account.password);
      tokens[name] = accessToken;
      userIds[name] = id;
      const me = await gql<{ me: { roles: Array<{ name: string }> } }>('{ me { roles { name } } }', {}, accessToken);
      expect(me.data?.me.roles.map((r) => r.name)).toContain(name === 'admin' ? 'admin' : 'user');
    });
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(opened.map((s) => s.dispose()));
  await platform?.stop();
});

describe('postCreated through the gateway', () => {
  it("delivers A's new post to B with its author from identity", async () => {
    const b = socket(tokens.reader);
    await b.connected;
    const feed = collect<{ postCreated: { id: string; title: string; author: { id: string; displayName: string } } }>(
      b.client,
      POST_CREATED,
    );
    await eventually(async () => expect(gateway.subscriptionStats().subscriptions).toBe(1));
    const id = await createPost('Hello subscribers');
    const [event] = await feed.next(1);
    expect(event!.errors).toBeUndefined();
    expect(event!.data!.postCreated).toEqual({
      id,
      title: 'Hello subscribers',
      author: { id: userIds.writer, displayName: 'Writer' },
    });
    feed.unsubscribe();
    await b.dispose();
  });
});
