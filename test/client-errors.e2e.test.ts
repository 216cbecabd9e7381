import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { eventually } from '@platform/kernel/testing';
import identity from '@platform/identity';
import { collect, openSocket, type Closed } from './fixtures/subscriptions-client.js';
import { signIn, startTestPlatform, type TestPlatform } from './helpers.js';

/**
 * Client mistakes are client errors: every malformed request, sent to the gateway and straight to
 * a subgraph, is answered with a 4xx and a specific `extensions.code`, and none is logged as an
 * unexpected error. Before the kernel's client-errors plugin and pagination checks, an unknown
 * operationName, a malformed persisted query, a mutation to audit, a subscription over HTTP and a
 * forged cursor on roles or users were 500s or INTERNAL_SERVER_ERROR with a stack trace logged.
 */
const ADMIN = { email: 'client-errors-admin@example.com', password: 'Client errors admin passphrase 4729' };
const UUID = '00000000-0000-4000-8000-000000000001';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');
const HASH = 'a'.repeat(64);

type Target = 'gateway' | 'identity' | 'authz' | 'audit' | 'blog';
const SUBGRAPHS: Target[] = ['identity', 'authz', 'audit', 'blog'];
const ALL: Target[] = ['gateway', ...SUBGRAPHS];

interface Malformed {
  method?: 'GET' | 'POST' | 'PUT';
  /** `null`: no content type at all. Default: application/json on POST. */
  contentType?: string | null;
  /** Sent as is when a string, as JSON otherwise. */
  body?: unknown;
  search?: string;
  headers?: Record<string, string>;
  /** As the administrator (lists only they may read). */
  admin?: boolean;
}

/** [case, request, where it is sent, status, code] */
type Case = [string, Malformed, Target[], number, string];

const get = (query: string, preflight = true): Malformed => ({
  method: 'GET',
  search: `?query=${encodeURIComponent(query)}`,
  headers: preflight ? { 'apollo-require-preflight': '1' } : {},
});
const list = (field: string, variables: Record<string, unknown>): Malformed => ({
  body: {
    query: `query ($first: Int, $after: String) { ${field}(first: $first, after: $after) { totalCount } }`,
    variables,
  },
  admin: true,
});
const forged = {
  'not base64url': '%%%',
  'an id that is not a UUID': b64('2026-01-01T00:00:00.000Z|1 or 1=1'),
  'a year PostgreSQL cannot take': b64(`+020000-01-01T00:00:00.000Z|${UUID}`),
  'a day the calendar lacks': b64(`2026-02-30T00:00:00.000Z|${UUID}`),
  'far too long': 'A'.repeat(5000),
};

const CASES: Case[] = [
  // Which operation to run
  [
    'an unknown operationName',
    { body: { query: 'query A { __typename }', operationName: 'B' } },
    ALL,
    400,
    'OPERATION_RESOLUTION_FAILURE',
  ],
  [
    'two operations and no operationName',
    { body: { query: 'query A { __typename } query B { __typename }' } },
    ALL,
    400,
    'OPERATION_RESOLUTION_FAILURE',
  ],
  [
    'an operationName that is not a string',
    { body: { query: '{ __typename }', operationName: 5 } },
    ALL,
    400,
    'BAD_REQUEST',
  ],
  // Automatic persisted queries
  [
    'a persisted query of an unknown version',
    { body: { query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: HASH } } } },
    ALL,
    400,
    'BAD_REQUEST',
  ],
  [
    'a persisted query whose hash is not the query',
    { body: { query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: HASH } } } },
    ALL,
    400,
    'BAD_REQUEST',
  ],
  [
    'a persisted query that is not an object',
    { body: { query: '{ __typename }', extensions: { persistedQuery: 'x' } } },
    ALL,
    400,
    'BAD_REQUEST',
  ],
  [
    'a hash-only persisted query nobody stored',
    { body: { extensions: { persistedQuery: { version: 1, sha256Hash: HASH } } } },
    ALL,
    404,
    'PERSISTED_QUERY_NOT_FOUND',
  ],
  [
    'extensions that are not an object',
    { body: { query: '{ __typename }', extensions: 'x' } },
    ALL,
    400,
    'BAD_REQUEST',
  ],
  // Operation types
  [
    'a mutation to a subgraph without a Mutation type',
    { body: { query: 'mutation { __typename }' } },
    ['audit'], // the supergraph has mutations
    400,
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'a subscription to a subgraph without a Subscription type',
    { body: { query: 'subscription { __typename }' } },
    ['gateway', 'authz'],
    400,
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    // graphql-js 16 threw out of validation on this (found by test/fuzz.e2e.test.ts): a 500.
    '@skip with a variable on a subscription root field',
    { body: { query: 'subscription ($s: Boolean!) { postCreated @skip(if: $s) { id } }', variables: { s: false } } },
    ['gateway', 'blog', 'audit'],
    400,
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    // The gateway took the boolean for the object's type name (found by test/fuzz.e2e.test.ts): a masked error.
    'a field aliased __typename',
    { body: { query: '{ posts(first: 1) { __typename: totalCount } }' } },
    ['gateway', 'blog'],
    400,
    'GRAPHQL_VALIDATION_FAILED',
  ],
  [
    'a subscription over HTTP',
    { body: { query: 'subscription { postCreated { id } }' } },
    ['gateway', 'blog'],
    400,
    'BAD_REQUEST',
  ],
  ['a GET with a mutation', get('mutation { __typename }'), ['gateway', 'identity'], 405, 'BAD_REQUEST'],
  ['a GET without a CSRF preflight header', get('{ __typename }', false), ALL, 400, 'BAD_REQUEST'],
  ['a PUT', { method: 'PUT', body: { query: '{ __typename }' } }, ALL, 405, 'BAD_REQUEST'],
  // Cursors and page sizes, on every list
  ...Object.entries(forged).flatMap(([name, after]): Case[] => [
    [`a cursor on posts: ${name}`, list('posts', { after }), ['gateway', 'blog'], 400, 'BAD_USER_INPUT'],
    [`a cursor on roles: ${name}`, list('roles', { after }), ['gateway', 'authz'], 400, 'BAD_USER_INPUT'],
    [`a cursor on users: ${name}`, list('users', { after }), ['gateway', 'identity'], 400, 'BAD_USER_INPUT'],
    [`a cursor on auditEvents: ${name}`, list('auditEvents', { after }), ['gateway', 'audit'], 400, 'BAD_USER_INPUT'],
  ]),
  [
    "another list's cursor on auditEvents",
    list('auditEvents', { after: b64(`2026-01-01T00:00:00.000Z|${UUID}`) }),
    ['gateway', 'audit'],
    400,
    'BAD_USER_INPUT',
  ],
  ["audit's cursor on roles", list('roles', { after: b64('audit:12') }), ['gateway', 'authz'], 400, 'BAD_USER_INPUT'],
  ['first = 0 on posts', list('posts', { first: 0 }), ['gateway', 'blog'], 400, 'BAD_USER_INPUT'],
  ['first = 101 on roles', list('roles', { first: 101 }), ['gateway', 'authz'], 400, 'BAD_USER_INPUT'],
  ['first = -1 on users', list('users', { first: -1 }), ['gateway', 'identity'], 400, 'BAD_USER_INPUT'],
  [
    // Larger pages the cost limit refuses first (QUERY_TOO_COMPLEX, also a 400).
    'first = 500 on auditEvents',
    list('auditEvents', { first: 500 }),
    ['gateway', 'audit'],
    400,
    'BAD_USER_INPUT',
  ],
  ['first beyond Int', list('posts', { first: 2 ** 31 }), ['gateway', 'blog'], 400, 'BAD_USER_INPUT'],
  ['first as a float', list('posts', { first: 1.5 }), ['gateway', 'blog'], 400, 'BAD_USER_INPUT'],
  ['first as a string', list('posts', { first: 'ten' }), ['gateway', 'blog'], 400, 'BAD_USER_INPUT'],
  // Content types and bodies
  [
    'text/plain (a CSRF-able simple request)',
    { contentType: 'text/plain', body: { query: '{ __typename }' } },
    ALL,
    400,
    'BAD_REQUEST',
  ],
  ['application/xml', { contentType: 'application/xml', body: '<query/>' }, ALL, 400, 'BAD_REQUEST'],
  ['application/graphql', { contentType: 'application/graphql', body: '{ __typename }' }, ALL, 400, 'BAD_REQUEST'],
  [
    'a form',
    { contentType: 'application/x-www-form-urlencoded', body: 'query=%7B__typename%7D' },
    ALL,
    400,
    'BAD_REQUEST',
  ],
  ['no content type', { contentType: null, body: '{"query":"{ __typename }"}' }, ALL, 400, 'BAD_REQUEST'],
  [
    'JSON in a charset body-parser does not read',
    { contentType: 'application/json; charset=latin1', body: { query: '{ __typename }' } },
    ALL,
    415,
    'BAD_REQUEST',
  ],
  ['invalid JSON', { body: '{"query": ' }, ALL, 400, 'BAD_REQUEST'],
  ['an empty body', { body: '' }, ALL, 400, 'BAD_REQUEST'],
  ['a JSON string', { body: '"{ __typename }"' }, ALL, 400, 'BAD_REQUEST'],
  ['a JSON number', { body: '42' }, ALL, 400, 'BAD_REQUEST'],
  ['JSON null', { body: 'null' }, ALL, 400, 'BAD_REQUEST'],
  [
    'a batch (not supported)',
    { body: [{ query: '{ __typename }' }, { query: '{ __typename }' }] },
    ALL,
    400,
    'BAD_REQUEST',
  ],
  ['an empty array', { body: [] }, ALL, 400, 'BAD_REQUEST'],
  ['an object without a query', { body: {} }, ALL, 400, 'BAD_REQUEST'],
  ['a query that is not a string', { body: { query: { kind: 'Document' } } }, ALL, 400, 'BAD_REQUEST'],
  ['variables that are a string', { body: { query: '{ __typename }', variables: '{}' } }, ALL, 400, 'BAD_REQUEST'],
  ['variables that are an array', { body: { query: '{ __typename }', variables: [1] } }, ALL, 400, 'BAD_REQUEST'],
  [
    'a body over the size limit',
    { body: { query: `{ __typename } # ${'x'.repeat(2 * 1024 * 1024)}` } },
    ['gateway', 'blog'],
    413,
    'PAYLOAD_TOO_LARGE',
  ],
  // Text PostgreSQL cannot store (found by test/fuzz.e2e.test.ts: a database error on login).
  [
    'NUL in a variable',
    {
      body: {
        query:
          'mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
        variables: { email: 'someone\u0000@example.com', password: 'whatever it is' },
      },
    },
    ['gateway', 'identity'],
    400,
    'BAD_USER_INPUT',
  ],
  [
    'NUL in a literal',
    { body: { query: '{ users(search: "a\\u0000b") { totalCount } }' }, admin: true },
    ['gateway', 'identity'],
    400,
    'BAD_USER_INPUT',
  ],
  // GraphQL itself
  ['a syntax error', { body: { query: '{ __typename ' } }, ALL, 400, 'GRAPHQL_PARSE_FAILED'],
  ['an unknown field', { body: { query: '{ nope }' } }, ALL, 400, 'GRAPHQL_VALIDATION_FAILED'],
];

/**
 * Variables that cannot be coerced to a required type: BAD_USER_INPUT from execution (the
 * operation limits' cost check leaves variables it cannot use alone).
 */
const UNCOERCIBLE: Case[] = [
  [
    'a missing required variable',
    { body: { query: 'query ($id: ID!) { post(id: $id) { id } }' } },
    ['gateway', 'blog'],
    400,
    'BAD_USER_INPUT',
  ],
  [
    'an input object with an unknown field',
    {
      body: {
        query: 'mutation ($input: CreatePostInput!) { createPost(input: $input) { id } }',
        variables: { input: { title: 't', content: 'c', extra: 1 } },
      },
    },
    ['gateway', 'blog'],
    400,
    'BAD_USER_INPUT',
  ],
];

describe('client errors are client errors', () => {
  let platform: TestPlatform;
  let token: string;
  const loggedErrors: unknown[] = [];

  beforeAll(async () => {
    platform = await startTestPlatform({ modules: { identity: { seedAdmin: ADMIN } } });
    const handle = platform.subgraphs.identity!;
    await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
    // authz gives the administrator their role when identity's event arrives.
    await eventually(async () => {
      ({ accessToken: token } = await signIn(platform, ADMIN.email, ADMIN.password));
      const roles = await send('gateway', { body: { query: '{ roles(first: 1) { totalCount } }' }, admin: true });
      expect(roles.body).toMatchObject({ data: { roles: { totalCount: 3 } } });
    }, 15_000);
    for (const service of [platform.gateway, ...Object.values(platform.subgraphs)]) {
      for (const level of ['error', 'fatal'] as const) {
        jest.spyOn(service.logger, level).mockImplementation((...args: unknown[]) => {
          loggedErrors.push({ service: service.name, args });
        });
      }
    }
  }, 60_000);

  afterAll(async () => {
    jest.restoreAllMocks();
    await platform?.stop();
  });

  async function send(target: Target, request: Malformed): Promise<{ status: number; body: unknown; text: string }> {
    const url = target === 'gateway' ? platform.gateway.url : platform.subgraphs[target]!.url;
    const headers: Record<string, string> = { ...request.headers };
    const method = request.method ?? 'POST';
    if (method !== 'GET' && request.contentType !== null)
      headers['content-type'] = request.contentType ?? 'application/json';
    if (request.admin) headers.authorization = `Bearer ${token}`;
    const response = await fetch(url + (request.search ?? ''), {
      method,
      headers,
      body:
        method === 'GET' ? undefined : typeof request.body === 'string' ? request.body : JSON.stringify(request.body),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: response.status, body, text };
  }

  it.each(CASES)('%s', async (_case, request, targets, status, code) => {
    loggedErrors.length = 0;
    for (const target of targets) {
      const answer = await send(target, request);
      const codes = (answer.body as { errors?: Array<{ extensions?: { code?: string } }> } | undefined)?.errors?.map(
        (error) => error.extensions?.code,
      );
      expect({ target, status: answer.status, codes }).toEqual({ target, status, codes: [code] });
    }
    expect(loggedErrors).toEqual([]);
  });

  it.each(UNCOERCIBLE)('%s', async (_case, request, targets, status, code) => {
    for (const target of targets) {
      const answer = await send(target, request);
      const codes = (answer.body as { errors?: Array<{ extensions?: { code?: string } }> } | undefined)?.errors?.map(
        (error) => error.extensions?.code,
      );
      expect({ target, status: answer.status, codes }).toEqual({ target, status, codes: [code] });
    }
  });

  describe('over graphql-ws', () => {
    const ROOT_SKIP = 'subscription ($s: Boolean!) { postCreated @skip(if: $s) { id } }';

    /** The `error` message a subscription got, and whether its socket closed meanwhile. */
    async function subscribeAt(url: string): Promise<{ error: unknown; closed: Closed | undefined }> {
      const socket = openSocket(url);
      try {
        await socket.connected;
        const operation = collect(socket.client, ROOT_SKIP, { s: false });
        await Promise.race([operation.done, new Promise((resolve) => setTimeout(resolve, 5000))]);
        const closed = await Promise.race([
          socket.closed,
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 200)),
        ]);
        return { error: operation.error, closed };
      } finally {
        await socket.dispose();
      }
    }

    it('refuses @skip on a subscription root at a subgraph with an error message, keeping the socket', async () => {
      const { error, closed } = await subscribeAt(platform.subgraphs.blog!.url);
      expect(closed).toBeUndefined();
      expect(JSON.stringify(error)).toContain(
        'must not use `@skip` or `@include` directives in the top level selection',
      );
    });

    it('refuses it at the gateway the same way', async () => {
      const { error, closed } = await subscribeAt(platform.gateway.url);
      expect(closed).toBeUndefined();
      expect(JSON.stringify(error)).toContain(
        'must not use `@skip` or `@include` directives in the top level selection',
      );
    });
  });

  it('still answers a normal query on every service afterwards', async () => {
    for (const target of ALL) {
      const answer = await send(target, { body: { query: '{ __typename }' } });
      expect({ target, status: answer.status, body: answer.body }).toEqual({
        target,
        status: 200,
        body: { data: { __typename: 'Query' } },
      });
    }
  });
});

describe('field suggestions follow introspection', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    // As in production (config/production.yaml): no introspection, so no "Did you mean" either.
    platform = await startTestPlatform({ gateway: { port: 0, introspection: false } });
  }, 60_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it.each([
    ['a misspelt field', 'blog', { query: '{ post(id: "x") { titel } }' }, 'GRAPHQL_VALIDATION_FAILED', /title/],
    [
      'a misspelt argument',
      'blog',
      { query: '{ posts(frist: 1) { totalCount } }' },
      'GRAPHQL_VALIDATION_FAILED',
      /first/,
    ],
    [
      'a misspelt input field in variables',
      'audit',
      {
        query: 'query ($filter: AuditEventFilter) { auditEvents(filter: $filter) { totalCount } }',
        variables: { filter: { acton: 'identity.login.failed' } },
      },
      'BAD_USER_INPUT',
      /action/,
    ],
  ])('suggests no name for %s, at the gateway and at %s', async (_case, subgraph, body, code, hidden) => {
    for (const url of [platform.gateway.url, platform.subgraphs[subgraph]!.url]) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const json = (await response.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
      expect({ url, status: response.status, code: json.errors[0]!.extensions.code }).toEqual({
        url,
        status: 400,
        code,
      });
      for (const error of json.errors) {
        expect(error.message).not.toMatch(/Did you mean/);
        expect(error.message).not.toMatch(hidden);
      }
    }
  });

  it('refuses introspection too', async () => {
    const response = await platform.graphql({ query: '{ __schema { types { name } } }' });
    expect(response.status).toBe(400);
  });
});
