import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { SetContextLink } from '@apollo/client/link/context';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { eventually } from '@platform/kernel/testing';
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { OperationTypeNode } from 'graphql';
import { ClientError, GraphQLClient } from 'graphql-request';
import { createClient as createWsClient } from 'graphql-ws';
import { firstValueFrom } from 'rxjs';
import { register, startTestPlatform } from './helpers.js';

/**
 * The browser clients docs/clients.md shows, run against a started platform with the code the docs
 * show: urql, Apollo Client and graphql-request each sign in with a bearer token, query, mutate
 * and receive a subscription event over graphql-ws; urql's default GET queries are refused by CSRF
 * prevention with the documented error and work with the documented fixes.
 *
 * The code between `// #region docs:<name>` and `// #endregion` is what docs/clients.md shows,
 * verbatim (the last test checks it); the imports above are the docs' imports.
 */

// Each subscription runs on its own upstream socket: blog's count tells when one is live.
const platform = await startTestPlatform({ gateway: { subscriptions: { sharing: false } } });
const GRAPHQL_URL = platform.gateway.url;
const WS_URL = GRAPHQL_URL.replace(/^http/, 'ws');
const USER = { email: 'ada@example.com', password: 'correct horse battery staple', displayName: 'Ada' };

interface Post {
  id: string;
  title: string;
  author: { displayName: string };
}

// #region docs:session
let session: { accessToken: string; refreshToken: string; expiresAt: number } | undefined;
let refreshing: Promise<void> | undefined;

const TOKENS = 'accessToken refreshToken expiresIn';

/** login and refreshToken answer the same pair: keep it, with when the access token expires. */
async function authenticate(query: string, variables: Record<string, string>): Promise<void> {
  const response = await fetch(GRAPHQL_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const { data, errors } = (await response.json()) as {
    data?: Record<string, { accessToken: string; refreshToken: string; expiresIn: number }>;
    errors?: Array<{ message: string }>;
  };
  if (!data || errors) {
    session = undefined; // a refused refresh token is spent: sign in again
    throw new Error(errors?.[0]?.message ?? `HTTP ${response.status}`);
  }
  const pair = Object.values(data)[0]!;
  session = { ...pair, expiresAt: Date.now() + pair.expiresIn * 1000 };
}

const LOGIN = `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { ${TOKENS} } }`;
const REFRESH = `mutation ($token: String!) { refreshToken(refreshToken: $token) { ${TOKENS} } }`;

export const signIn = (email: string, password: string): Promise<void> => authenticate(LOGIN, { email, password });

/**
 * The access token, refreshed a minute before it expires. A refresh token is single use and
 * presenting a spent one revokes the session, so concurrent callers share one refresh.
 */
export async function getAccessToken(): Promise<string | undefined> {
  if (session && Date.now() > session.expiresAt - 60_000) {
    refreshing ??= authenticate(REFRESH, { token: session.refreshToken }).finally(() => (refreshing = undefined));
    await refreshing;
  }
  return session?.accessToken;
}

/** fetch with the bearer token, for clients that take a fetch function (urql, graphql-request). */
export async function authFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const token = await getAccessToken();
  const headers = new Headers(init.headers);
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}
// #endregion

// #region docs:graphql-ws
/** One socket for every subscription; the token goes in connection_init (browsers cannot set headers on it). */
export const wsClient = createWsClient({
  url: WS_URL,
  connectionParams: async () => {
    const token = await getAccessToken();
    return token ? { authorization: `Bearer ${token}` } : {};
  },
});
// #endregion

// #region docs:operations
const POSTS = `query Posts { posts(first: 5) { edges { node { id title author { displayName } } } } }`;
const CREATE_POST = `mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) { id title author { displayName } } }`;
const POST_CREATED = `subscription PostCreated { postCreated { id title author { displayName } } }`;
// #endregion

// #region docs:urql
const urqlClient = new Client({
  url: GRAPHQL_URL,
  fetch: authFetch,
  // POST every query: the gateway refuses urql's default GET without a preflight header (CSRF prevention).
  preferGetMethod: false,
  exchanges: [
    fetchExchange,
    subscriptionExchange({
      forwardSubscription: (request) => ({
        subscribe: (sink) => ({ unsubscribe: wsClient.subscribe({ ...request, query: request.query ?? '' }, sink) }),
      }),
    }),
  ],
});
// #endregion

// #region docs:urql-get
const urqlWithGet = new Client({
  url: GRAPHQL_URL,
  fetch: authFetch,
  // Keep GET for queries: a header no cross-site form or simple request can send passes CSRF prevention.
  fetchOptions: { headers: { 'apollo-require-preflight': 'true' } },
  exchanges: [fetchExchange],
});
// #endregion

// #region docs:apollo
const apolloClient = new ApolloClient({
  cache: new InMemoryCache(),
  link: ApolloLink.split(
    (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
    new GraphQLWsLink(wsClient),
    new SetContextLink(async () => {
      const token = await getAccessToken();
      return token ? { headers: { authorization: `Bearer ${token}` } } : {};
    }).concat(new HttpLink({ uri: GRAPHQL_URL })),
  ),
});
// #endregion

// #region docs:graphql-request
const requestClient = new GraphQLClient(GRAPHQL_URL, { fetch: authFetch });
// #endregion

afterAll(async () => {
  await wsClient.dispose();
  await apolloClient.stop();
  await platform.stop();
});

beforeAll(async () => {
  await register(platform, USER);
  await signIn(USER.email, USER.password);
});

/** Runs `subscribe` once blog is idle, waits until its subscription is live upstream, then posts `title`. */
async function postWhileSubscribed<T>(title: string, subscribe: () => Promise<T>): Promise<T> {
  await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(0), 15_000);
  const event = subscribe();
  await eventually(async () => expect(platform.subgraphs.blog!.subscriptionStats().subscriptions).toBe(1), 15_000);
  const created = await requestClient.request<{ createPost: Post }>(CREATE_POST, { input: { title, content: title } });
  expect(created.createPost.title).toBe(title);
  return event;
}

const CSRF_REFUSAL =
  "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Please either specify a 'content-type' header (with a type that is not one of application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a non-empty value for one of the following headers: x-apollo-operation-name, apollo-require-preflight\n";

describe('urql', () => {
  it("refuses urql's default GET queries with the CSRF error, even with the bearer token", async () => {
    const urqlDefault = new Client({ url: GRAPHQL_URL, fetch: authFetch, exchanges: [fetchExchange] });
    const result = await urqlDefault.query(POSTS, {}).toPromise();
    expect(result.data).toBeUndefined();
    expect(result.error?.response).toMatchObject({ status: 400 });
    expect(result.error?.graphQLErrors.map(({ message, extensions }) => ({ message, extensions }))).toEqual([
      { message: CSRF_REFUSAL, extensions: { code: 'BAD_REQUEST' } },
    ]);
    expect(result.error?.message).toBe(`[GraphQL] ${CSRF_REFUSAL}`);
  });

  it('queries with POST (preferGetMethod: false) and mutates with the bearer token', async () => {
    const created = await urqlClient
      .mutation(CREATE_POST, { input: { title: 'From urql', content: 'Hello from urql' } })
      .toPromise();
    expect(created.error).toBeUndefined();
    expect(created.data).toEqual({
      createPost: { id: expect.any(String), title: 'From urql', author: { displayName: 'Ada' } },
    });
    const listed = await urqlClient.query(POSTS, {}, { requestPolicy: 'network-only' }).toPromise();
    expect(listed.error).toBeUndefined();
    expect(listed.data.posts.edges.map((edge: { node: Post }) => edge.node.title)).toContain('From urql');
  });

  it('queries with GET and the apollo-require-preflight header', async () => {
    let method: string | undefined;
    const probe = new Client({
      url: GRAPHQL_URL,
      fetch: (input, init) => ((method = init?.method), authFetch(input, init)),
      fetchOptions: { headers: { 'apollo-require-preflight': 'true' } },
      exchanges: [fetchExchange],
    });
    expect((await probe.query(POSTS, {}).toPromise()).error).toBeUndefined();
    expect(method).toBe('GET');
    const listed = await urqlWithGet.query(POSTS, {}).toPromise();
    expect(listed.error).toBeUndefined();
    expect(listed.data.posts.edges.length).toBeGreaterThan(0);
  });

  it('receives postCreated over graphql-ws', async () => {
    let stop: (() => void) | undefined;
    const event = await postWhileSubscribed(
      'Seen by urql',
      () =>
        new Promise<Post>((resolve, reject) => {
          ({ unsubscribe: stop } = urqlClient.subscription(POST_CREATED, {}).subscribe((result) => {
            if (result.error) reject(result.error);
            else resolve(result.data.postCreated);
          }));
        }),
    );
    stop!();
    expect(event).toEqual({ id: expect.any(String), title: 'Seen by urql', author: { displayName: 'Ada' } });
  });
});

describe('Apollo Client', () => {
  it('queries and mutates over HTTP with the bearer token', async () => {
    const created = await apolloClient.mutate<{ createPost: Post }>({
      mutation: gql(CREATE_POST),
      variables: { input: { title: 'From Apollo', content: 'Hello from Apollo Client' } },
    });
    expect(created.data?.createPost).toMatchObject({ title: 'From Apollo', author: { displayName: 'Ada' } });
    const listed = await apolloClient.query<{ posts: { edges: Array<{ node: Post }> } }>({
      query: gql(POSTS),
      fetchPolicy: 'network-only',
    });
    expect(listed.data?.posts.edges.map((edge) => edge.node.title)).toContain('From Apollo');
  });

  it('passes CSRF prevention with GET queries too (HttpLink always sends content-type: application/json)', async () => {
    const sent: Array<{ method?: string; contentType: string | null }> = [];
    const viaGet = new ApolloClient({
      cache: new InMemoryCache(),
      link: new HttpLink({
        uri: GRAPHQL_URL,
        useGETForQueries: true,
        fetch: (input, init) => {
          sent.push({ method: init?.method, contentType: new Headers(init?.headers).get('content-type') });
          return authFetch(input, init);
        },
      }),
    });
    const listed = await viaGet.query<{ posts: { edges: Array<{ node: Post }> } }>({ query: gql(POSTS) });
    expect(listed.data?.posts.edges.length).toBeGreaterThan(0);
    expect(sent).toEqual([{ method: 'GET', contentType: 'application/json' }]);
  });

  it('receives postCreated through GraphQLWsLink', async () => {
    const feed = apolloClient.subscribe<{ postCreated: Post }>({ query: gql(POST_CREATED) });
    const event = await postWhileSubscribed('Seen by Apollo', () => firstValueFrom(feed));
    expect(event.data?.postCreated).toMatchObject({ title: 'Seen by Apollo', author: { displayName: 'Ada' } });
  });
});

describe('graphql-request', () => {
  it('queries and mutates with the bearer token', async () => {
    const created = await requestClient.request<{ createPost: Post }>(CREATE_POST, {
      input: { title: 'From graphql-request', content: 'Hello from graphql-request' },
    });
    expect(created.createPost.author.displayName).toBe('Ada');
    const listed = await requestClient.request<{ posts: { edges: Array<{ node: Post }> } }>(POSTS);
    expect(listed.posts.edges.map((edge) => edge.node.title)).toContain('From graphql-request');
  });

  it('throws a ClientError carrying the GraphQL errors (here: signed out, a mutation that needs a permission)', async () => {
    const anonymous = new GraphQLClient(GRAPHQL_URL);
    const refused = await anonymous.request(CREATE_POST, { input: { title: 'x', content: 'x' } }).catch((e) => e);
    expect(refused).toBeInstanceOf(ClientError);
    expect((refused as ClientError).response.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it("is refused with method: 'GET' like urql, and passes with the preflight header", async () => {
    const getClient = new GraphQLClient(GRAPHQL_URL, { fetch: authFetch, method: 'GET' });
    const refused = await getClient.request(POSTS).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ClientError);
    expect((refused as ClientError).response.status).toBe(400);
    expect((refused as ClientError).response.errors?.[0]?.message).toBe(CSRF_REFUSAL);
    const withHeader = new GraphQLClient(GRAPHQL_URL, {
      fetch: authFetch,
      method: 'GET',
      headers: { 'apollo-require-preflight': 'true' },
    });
    const listed = await withHeader.request<{ posts: { edges: unknown[] } }>(POSTS);
    expect(listed.posts.edges.length).toBeGreaterThan(0);
  });

  it('receives postCreated with graphql-ws alone', async () => {
    const feed = wsClient.iterate<{ postCreated: Post }>({ query: POST_CREATED });
    const event = await postWhileSubscribed('Seen by graphql-ws', async () => (await feed.next()).value);
    await feed.return?.();
    expect(event?.data?.postCreated).toMatchObject({ title: 'Seen by graphql-ws', author: { displayName: 'Ada' } });
  });
});

describe('refresh-token rotation', () => {
  it('trades the refresh token once when the access token is about to expire; concurrent callers share it', async () => {
    const before = session!;
    session = { ...before, expiresAt: Date.now() }; // as a minute before expiry
    const [a, b] = await Promise.all([getAccessToken(), getAccessToken()]);
    expect(a).toBe(b);
    expect(session!.refreshToken).not.toBe(before.refreshToken);
    const listed = await requestClient.request<{ me: { email: string } }>('{ me { email } }');
    expect(listed.me.email).toBe(USER.email);
  });
});

describe('docs/clients.md', () => {
  it('shows every region of this file verbatim', () => {
    const docs = readFileSync(new URL('../docs/clients.md', import.meta.url), 'utf8');
    const source = readFileSync(new URL(import.meta.url), 'utf8');
    const regions = [...source.matchAll(/^\/\/ #region docs:([\w-]+)\n([\s\S]*?)^\/\/ #endregion$/gm)];
    expect(regions.map(([, name]) => name)).toEqual([
      'session',
      'graphql-ws',
      'operations',
      'urql',
      'urql-get',
      'apollo',
      'graphql-request',
    ]);
    for (const [, name, code] of regions) {
      expect({ name, shown: docs.includes(code!) }).toEqual({ name, shown: true });
    }
  });
});
