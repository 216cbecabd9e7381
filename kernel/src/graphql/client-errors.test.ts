import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { buildSchema, GraphQLError, parse, validate, type GraphQLFormattedError } from 'graphql';
import pino from 'pino';
import { InputError } from '../errors.js';
import { formatErrorWith } from './apollo.js';
import {
  clientErrorsPlugin,
  clientErrorStatus,
  foundBeforeValidationRule,
  knownOperationTypesRule,
  nulCharacterError,
  operationResolutionError,
  reservedAliasesRule,
  subscriptionRootDirectiveErrors,
  validateSafely,
  withoutSuggestions,
  withRequestErrorCode,
} from './client-errors.js';
import { pageOf } from './pagination.js';

const QUERY_ONLY = buildSchema('type Query { a: Int }');

describe('knownOperationTypesRule', () => {
  it.each([
    ['a query', '{ a }', []],
    ['a mutation', 'mutation { a }', ['The mutation operation is not supported by the schema.']],
    ['a subscription', 'subscription { a }', ['The subscription operation is not supported by the schema.']],
  ])('on a schema with only Query: %s', (_case, source, messages) => {
    const errors = validate(QUERY_ONLY, parse(source), [knownOperationTypesRule]);
    expect(errors.map((error) => error.message)).toEqual(messages);
  });
});

describe('nulCharacterError', () => {
  // Named as modules name their fields: the input field itself (`content`, not `input.content`).
  it.each<[string, string, unknown, string | undefined]>([
    ['clean text', '{ a(s: "x") }', { v: 'y' }, undefined],
    ['a literal argument', '{ a(s: "x\\u0000") }', {}, 's'],
    ['a literal input field', '{ a(input: { title: "\\u0000" }) }', {}, 'title'],
    ['a literal in a list', '{ a(ids: ["1", "2\\u0000"]) }', {}, 'ids'],
    ['a variable argument', 'query ($e: String) { a(email: $e) }', { e: 'me\u0000@example.com' }, 'email'],
    ['a variable input field', 'query ($t: String) { a(input: { title: $t }) }', { t: '\u0000' }, 'title'],
    ['a field of a variable', 'query ($i: I) { a(input: $i) }', { i: { title: 't', content: 'a\u0000b' } }, 'content'],
    ['a list in a variable', 'query ($i: I) { a(input: $i) }', { i: { tags: ['a', '\u0000'] } }, 'tags'],
    ['a key of a variable', 'query ($i: I) { a(input: $i) }', { i: { 'x\u0000': 1 } }, 'x\u0000'],
    ['a variable nothing uses', '{ a }', { unused: '\u0000' }, 'unused'],
    ['variables that are not an object', '{ a }', 'x\u0000', undefined],
  ])('%s', (_case, source, variables, field) => {
    expect(nulCharacterError(parse(source), variables)?.fields[0]?.field).toBe(field);
  });

  it('scans a document once however often it is asked (Apollo reuses parsed documents)', () => {
    const document = parse('{ a(s: "x\\u0000") }');
    expect(nulCharacterError(document, {})?.fields).toEqual([
      { field: 's', message: 'must not contain the NUL character (U+0000)' },
    ]);
    expect(nulCharacterError(document, {})?.fields[0]?.field).toBe('s');
  });
});

describe('reservedAliasesRule', () => {
  const schema = buildSchema('type Query { a: Int, b: Boolean }');
  it.each([
    ['no alias', '{ a __typename }', []],
    ['an ordinary alias', '{ x: a, t: __typename }', []],
    ['a field aliased as itself', '{ __typename: __typename }', []],
    [
      '__typename as the alias of a field',
      '{ __typename: b }',
      ['Alias "__typename" is reserved: names starting with "__" belong to introspection.'],
    ],
    ['any __ alias', '{ __x: a }', ['Alias "__x" is reserved: names starting with "__" belong to introspection.']],
  ])('%s', (_case, source, messages) => {
    expect(validate(schema, parse(source), [reservedAliasesRule]).map((error) => error.message)).toEqual(messages);
  });
});

describe('subscriptionRootDirectiveErrors', () => {
  it.each<[string, string, string[]]>([
    ['a plain subscription', 'subscription { tick }', []],
    ['a query with @skip', 'query ($s: Boolean!) { a @skip(if: $s) }', []],
    ['@skip deeper down', 'subscription ($s: Boolean!) { tick { a @skip(if: $s) } }', []],
    [
      '@skip on the root field',
      'subscription ($s: Boolean!) { tick @skip(if: $s) }',
      ['Anonymous Subscription must not use `@skip` or `@include` directives in the top level selection.'],
    ],
    [
      '@include with a literal, named',
      'subscription S { tick @include(if: true) }',
      ['Subscription "S" must not use `@skip` or `@include` directives in the top level selection.'],
    ],
    [
      'in an inline fragment',
      'subscription ($s: Boolean!) { ... on Subscription { tick @skip(if: $s) } }',
      ['Anonymous Subscription must not use `@skip` or `@include` directives in the top level selection.'],
    ],
    [
      'on a spread of a fragment that spreads itself',
      'subscription ($s: Boolean!) { ...F @include(if: $s) } fragment F on Subscription { tick ...F }',
      ['Anonymous Subscription must not use `@skip` or `@include` directives in the top level selection.'],
    ],
  ])('%s', (_case, source, messages) => {
    expect(subscriptionRootDirectiveErrors(parse(source)).map((error) => error.message)).toEqual(messages);
  });
});

describe('validateSafely', () => {
  const schema = buildSchema('type Query { a: Int } type Subscription { tick: Int }');
  it.each([
    ['a valid subscription', 'subscription { tick }', []],
    ['an invalid one', '{ nope }', ['Cannot query field "nope" on type "Query".']],
    [
      "the document graphql-js's validate throws on",
      'subscription ($s: Boolean!) { tick @skip(if: $s) }',
      ['Anonymous Subscription must not use `@skip` or `@include` directives in the top level selection.'],
    ],
  ])('%s', (_case, source, messages) => {
    expect(validateSafely(schema, parse(source)).map((error) => error.message)).toEqual(messages);
  });
});

describe('operationResolutionError', () => {
  it.each([
    ['an unknown name', 'query A { a }', 'B', 'Unknown operation named "B".'],
    [
      'no name among several',
      'query A { a } query B { a }',
      undefined,
      'Must provide operation name if query contains multiple operations.',
    ],
    ['no operation at all', 'fragment F on Query { a }', undefined, 'Must provide an operation.'],
    ['a huge name (echoed cut short)', '{ a }', 'x'.repeat(10_000), `Unknown operation named "${'x'.repeat(100)}".`],
  ])('names the problem: %s', (_case, source, name, message) => {
    const error = operationResolutionError(parse(source), name);
    expect(error.message).toBe(message);
    expect(error.extensions).toEqual({ code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } });
  });
});

describe('clientErrorStatus', () => {
  const coded = (...codes: Array<string | undefined>): GraphQLFormattedError[] =>
    codes.map((code) => ({ message: 'x', ...(code ? { extensions: { code } } : {}) }));

  it.each<[string, GraphQLFormattedError[], number | undefined]>([
    ['bad input', coded('BAD_USER_INPUT'), 400],
    ['a parse failure', coded('GRAPHQL_PARSE_FAILED'), 400],
    ['a persisted query not held', coded('PERSISTED_QUERY_NOT_FOUND'), 404],
    ['the same client error twice', coded('PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_FOUND'), 404],
    ['different client errors', coded('PERSISTED_QUERY_NOT_FOUND', 'BAD_USER_INPUT'), 400],
    ['a client error beside an internal one', coded('BAD_USER_INPUT', 'INTERNAL_SERVER_ERROR'), undefined],
    ['an error without a code', coded(undefined), undefined],
    ['FORBIDDEN (an answer, not a malformed request)', coded('FORBIDDEN'), undefined],
  ])('%s', (_case, errors, status) => {
    expect(clientErrorStatus(errors)).toBe(status);
  });
});

describe('withoutSuggestions', () => {
  it.each([
    ['Cannot query field "titel" on type "Post". Did you mean "title"?', 'Cannot query field "titel" on type "Post".'],
    [
      'Variable "$input" got invalid value { titel: "x" }; Field "titel" is not defined by type "CreatePostInput". Did you mean "title"?',
      'Variable "$input" got invalid value { titel: "x" }; Field "titel" is not defined by type "CreatePostInput".',
    ],
    [
      'Unknown argument "frist" on field "Query.posts". Did you mean "first" or "after"?',
      'Unknown argument "frist" on field "Query.posts".',
    ],
    ['No suggestion here.', 'No suggestion here.'],
  ])('%s', (message, expected) => {
    expect(withoutSuggestions({ message }).message).toBe(expected);
  });
});

describe('withRequestErrorCode', () => {
  const formatted = (error: GraphQLError): GraphQLFormattedError => ({
    message: error.message,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });

  it('codes an uncoded error Apollo raised with a 4xx (a malformed persisted query) BAD_REQUEST', () => {
    const error = new GraphQLError('provided sha does not match query', { extensions: { http: { status: 400 } } });
    expect(withRequestErrorCode(formatted(error), error).extensions?.code).toBe('BAD_REQUEST');
  });

  it.each([
    ['without a status', new GraphQLError('boom')],
    ['with a 5xx', new GraphQLError('boom', { extensions: { http: { status: 503 } } })],
    ['with a code of its own', new GraphQLError('x', { extensions: { code: 'TEAPOT', http: { status: 418 } } })],
  ])('leaves an error %s alone', (_case, error) => {
    expect(withRequestErrorCode(formatted(error), error)).toEqual(formatted(error));
  });

  it('leaves what is not a GraphQLError alone', () => {
    const result = { message: 'x', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    expect(withRequestErrorCode(result, new Error('x'))).toBe(result);
  });
});

describe('clientErrorsPlugin in an Apollo Server', () => {
  const schema = buildSchema(`
    input Draft { title: String }
    type Query { list(first: Int, after: String): [String!]!, maybe: String, boom: String!, a: Int, echo(draft: Draft): String }
    type Subscription { tick: Int }
  `);
  const resolvers = {
    list: (args: { first?: number; after?: string }) => {
      pageOf(args);
      return ['one'];
    },
    maybe: () => {
      throw InputError.field('maybe', 'is never right');
    },
    boom: () => {
      throw new Error('secret detail');
    },
    a: () => 1,
  };
  const logged: unknown[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => logged.push(JSON.parse(line)) });

  async function ask(
    body: unknown,
    options: { hideSchemaDetails?: boolean; method?: string; search?: string } = {},
  ): Promise<{ status: number; body: { data?: unknown; errors?: GraphQLFormattedError[] } }> {
    const server = new ApolloServer({
      schema,
      rootValue: resolvers,
      validationRules: [knownOperationTypesRule, reservedAliasesRule, foundBeforeValidationRule],
      hideSchemaDetailsFromClientErrors: options.hideSchemaDetails ?? false,
      formatError: formatErrorWith(logger, { hideSchemaDetails: options.hideSchemaDetails }),
      plugins: [clientErrorsPlugin()],
    });
    await server.start();
    try {
      const response = await server.executeHTTPGraphQLRequest({
        httpGraphQLRequest: {
          method: options.method ?? 'POST',
          headers: new HeaderMap([['content-type', 'application/json']]),
          search: options.search ?? '',
          body,
        },
        context: async () => ({}),
      });
      const text = response.body.kind === 'complete' ? response.body.string : '';
      return { status: response.status ?? 200, body: JSON.parse(text) as never };
    } finally {
      await server.stop();
    }
  }

  const hash = 'a'.repeat(64);
  it.each<[string, unknown, number, string]>([
    ['an unknown operationName', { query: 'query A { a }', operationName: 'B' }, 400, 'OPERATION_RESOLUTION_FAILURE'],
    ['two operations, no name', { query: 'query A { a } query B { a }' }, 400, 'OPERATION_RESOLUTION_FAILURE'],
    ['a subscription over HTTP', { query: 'subscription { tick }' }, 400, 'BAD_REQUEST'],
    [
      // graphql-js 16 threw out of validate() on this: a 500.
      '@skip with a variable on a subscription root field',
      { query: 'query A { a } subscription B($s: Boolean!) { tick @skip(if: $s) }', operationName: 'A' },
      400,
      'GRAPHQL_VALIDATION_FAILED',
    ],
    ['a mutation the schema has no type for', { query: 'mutation { a }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
    ['a bad cursor', { query: '{ list(after: "%%%") }' }, 400, 'BAD_USER_INPUT'],
    ['a page size out of range', { query: '{ list(first: 1000) }' }, 400, 'BAD_USER_INPUT'],
    ['NUL in a literal', { query: '{ echo(draft: { title: "a\\u0000" }) }' }, 400, 'BAD_USER_INPUT'],
    [
      'NUL in a variable',
      { query: 'query ($d: Draft) { echo(draft: $d) }', variables: { d: { title: 'a\u0000' } } },
      400,
      'BAD_USER_INPUT',
    ],
    [
      'a persisted query of an unknown version',
      { query: '{ a }', extensions: { persistedQuery: { version: 2, sha256Hash: hash } } },
      400,
      'BAD_REQUEST',
    ],
    [
      'a persisted query whose hash is not the query',
      { query: '{ a }', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
      400,
      'BAD_REQUEST',
    ],
    [
      'a hash-only persisted query not held',
      { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } },
      404,
      'PERSISTED_QUERY_NOT_FOUND',
    ],
  ])('answers %s with a 4xx and a specific code, logging nothing', async (_case, body, status, code) => {
    logged.length = 0;
    const answer = await ask(body);
    expect({ status: answer.status, codes: answer.body.errors?.map((error) => error.extensions?.code) }).toEqual({
      status,
      codes: [code],
    });
    expect(logged).toEqual([]);
  });

  it('keeps 200 for a partial answer: there is data', async () => {
    const answer = await ask({ query: '{ a maybe }' });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual({ a: 1, maybe: null });
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('keeps 200 and masks an unexpected error, logging it', async () => {
    logged.length = 0;
    const answer = await ask({ query: '{ boom }' });
    expect(answer.status).toBe(200);
    expect(answer.body.errors?.[0]).toMatchObject({ message: 'Internal server error' });
    expect(logged).toHaveLength(1);
  });

  it('keeps the status Apollo chose on purpose (405 for a GET of anything but a query)', async () => {
    const answer = await ask(undefined, {
      method: 'GET',
      search: `?query=${encodeURIComponent('subscription { tick }')}`,
    });
    expect(answer.status).toBe(405);
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it.each([
    ['an unknown field', { query: '{ lst }' }],
    ['an unknown argument', { query: '{ list(frist: 1) }' }],
    [
      'a misspelt input field in variables',
      { query: 'query($d: Draft) { echo(draft: $d) }', variables: { d: { titel: 'x' } } },
    ],
  ])('suggests names for %s only while schema details are shown', async (_case, body) => {
    expect((await ask(body)).body.errors?.[0]?.message).toMatch(/Did you mean/);
    const hidden = await ask(body, { hideSchemaDetails: true });
    expect(hidden.status).toBe(400);
    expect(hidden.body.errors?.[0]?.message).not.toMatch(/Did you mean/);
  });
});
