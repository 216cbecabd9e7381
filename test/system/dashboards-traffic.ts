import { createClient } from 'graphql-ws';
import type { SystemStack } from './stack.js';

/**
 * Traffic through the running supergraph that makes the series the dashboards and alerts read:
 * queries across subgraphs, mutations, a failed login, a registration (its verification mail is a
 * job), a subscription and its event, a socket refused for a bad token, an operation refused by a
 * limit, and calls to a service-only route without the service credential.
 */

interface GraphQLAnswer<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function graphql<T>(
  stack: SystemStack,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLAnswer<T>> {
  const res = await fetch(`${stack.gateway}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GraphQLAnswer<T>;
}

const ADMIN = { email: 'admin@example.com', password: 'dev-admin-change-me' };

export async function makeTraffic(stack: SystemStack): Promise<void> {
  const login = await graphql<{ login: { accessToken: string } }>(
    stack,
    'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
    ADMIN,
  );
  const token = login.data?.login.accessToken;
  if (!token) throw new Error(`the development administrator could not sign in: ${JSON.stringify(login.errors)}`);

  // A failed login: identity.login.failed, an UNAUTHENTICATED answer.
  const failed = await graphql(
    stack,
    'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
    { email: ADMIN.email, password: 'not-the-password' },
  );
  if (!failed.errors?.length) throw new Error('a wrong password signed in');

  // A registration: identity.user.created, and its verification mail sent by a job.
  await graphql(stack, 'mutation Register($input: RegisterInput!) { register(input: $input) { id } }', {
    input: { email: `metrics-${Date.now()}@example.com`, password: 'a long enough passphrase 42', displayName: 'M' },
  });

  // Queries across subgraphs (blog, identity), and the audit log.
  for (let i = 0; i < 3; i++) {
    const posts = await graphql<{ posts: { edges: unknown[] } }>(
      stack,
      'query Posts { posts(first: 5) { totalCount edges { node { id title author { id displayName } } } } }',
      {},
      token,
    );
    if (!posts.data?.posts.edges.length) throw new Error(`no posts: ${JSON.stringify(posts.errors)}`);
  }
  await graphql(stack, 'query Audit { auditEvents(first: 5) { edges { node { id action } } } }', {}, token);
  // A permission error: a guest reads the audit log.
  await graphql(stack, 'query Audit { auditEvents(first: 5) { edges { node { id } } } }');

  // An operation refused by a limit (31 aliases, 30 allowed).
  const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ');
  await graphql(stack, `query TooManyAliases { ${aliases} }`);

  // A subscription, and the event a mutation makes.
  await subscribeAndPost(stack, token);

  // A socket whose token is not one: the gateway closes it (4401).
  await refusedSocket(stack);

  // Service-only routes without the service credential, on every subgraph.
  for (const origin of Object.values(stack.subgraphs)) {
    await fetch(`${origin}/internal/revocations?since=0`).then((res) => res.arrayBuffer());
  }
}

function wsUrl(stack: SystemStack): string {
  return `${stack.gateway.replace(/^http/, 'ws')}/graphql`;
}

async function subscribeAndPost(stack: SystemStack, token: string): Promise<void> {
  const client = createClient({
    url: wsUrl(stack),
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
  });
  try {
    const feed = client.iterate<{ postCreated: { id: string; title: string } }>({
      query: 'subscription PostCreated { postCreated { id title } }',
    });
    const first = feed.next();
    // The subscription is running once the gateway counts it; then the mutation's event reaches it.
    const title = `metrics ${Date.now()}`;
    let event: Awaited<typeof first> | undefined;
    const deadline = Date.now() + 30_000;
    void first.then((value) => (event = value));
    while (!event && Date.now() < deadline) {
      await graphql(
        stack,
        'mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) { id } }',
        { input: { title, content: 'Counted by Prometheus' } },
        token,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (!event || event.done) throw new Error('postCreated delivered nothing in 30 s');
    await feed.return?.();
  } finally {
    await client.dispose();
  }
}

async function refusedSocket(stack: SystemStack): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the gateway did not close a socket with a bad token')), 10_000);
    const client = createClient({
      url: wsUrl(stack),
      connectionParams: { authorization: 'Bearer not-a-token' },
      lazy: false,
      retryAttempts: 0,
      on: {
        closed: () => {
          clearTimeout(timer);
          resolve();
        },
      },
    });
    client.on('error', () => undefined);
  });
}

/**
 * A minute of ordinary use for the pictures of docs/ (UPDATE_SCREENSHOTS=1): reads across
 * subgraphs twice a second, a post every 10 s, a failed login (of an address without an account)
 * every 5 s, an operation refused by a limit now and then.
 */
export async function steadyTraffic(stack: SystemStack, ms: number): Promise<void> {
  const login = await graphql<{ login: { accessToken: string } }>(
    stack,
    'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
    ADMIN,
  );
  const token = login.data?.login.accessToken;
  if (!token) throw new Error(`the development administrator could not sign in: ${JSON.stringify(login.errors)}`);
  const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ');
  const end = Date.now() + ms;
  for (let tick = 0; Date.now() < end; tick++) {
    await graphql(
      stack,
      'query Posts { posts(first: 5) { totalCount edges { node { id title author { displayName } } } } }',
      {},
      token,
    );
    if (tick % 20 === 0) {
      await graphql(
        stack,
        'mutation CreatePost($input: CreatePostInput!) { createPost(input: $input) { id } }',
        { input: { title: `steady ${tick}`, content: 'A minute of ordinary use' } },
        token,
      );
    }
    if (tick % 10 === 5) {
      await graphql(
        stack,
        'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
        { email: 'nobody@example.com', password: 'not-the-password' },
      );
    }
    if (tick % 15 === 7) await graphql(stack, `query TooManyAliases { ${aliases} }`);
    if (tick % 6 === 3)
      await graphql(stack, 'query Audit { auditEvents(first: 5) { edges { node { id action } } } }', {}, token);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
