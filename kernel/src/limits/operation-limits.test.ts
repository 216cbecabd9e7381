import { describe, expect, it } from '@jest/globals';
import { buildSchema, getOperationAST, parse } from 'graphql';
import { QueryTooComplexError } from '../errors.js';
import { checkOperation, checkTokens, countTokens, measureOperation } from './operation-limits.js';

const schema = buildSchema(`
  type Query {
    posts(first: Int, after: String): PostConnection!
    post(id: ID!): Post
    permissions: [String!]!
    roles: [Role!]!
    _entities(representations: [String!]!): [Post]!
  }
  type Mutation { createPost(title: String!): Post! }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type PostConnection { edges: [PostEdge!]! pageInfo: PageInfo! totalCount: Int! }
  type PostEdge { node: Post! cursor: String! }
  type Post { id: ID! title: String! author: User! }
  type User { id: ID! posts(first: Int): PostConnection! }
  type Role { id: ID! permissions: [String!]! }
`);

const LIMITS = {
  maxDepth: 10,
  maxAliases: 30,
  maxRootFields: 20,
  maxDirectives: 20,
  maxTokens: 2000,
  maxCost: 10_000,
  defaultListSize: 20,
  maxResponseBytes: '8mb',
};

function measure(query: string, variables?: Record<string, unknown>) {
  const document = parse(query);
  return measureOperation(schema, document, getOperationAST(document)!, variables, LIMITS);
}

function refusal(query: string, variables?: Record<string, unknown>): QueryTooComplexError {
  const document = parse(query);
  try {
    checkOperation(schema, document, getOperationAST(document)!, variables, LIMITS);
  } catch (error) {
    if (error instanceof QueryTooComplexError) return error;
    throw error;
  }
  throw new Error('not refused');
}

/** The finding: three nested 100-post pages, 10^6 posts once one author has 100. */
const MILLION = `{ posts(first:100){ edges{ node{ author{ posts(first:100){ edges{ node{
  author { posts(first:100){ edges { node { id title } } } } } } } } } } } }`;

describe('measureOperation', () => {
  it.each([
    ['a field', '{ post(id: "1") { id } }', { depth: 2, aliases: 0, rootFields: 1, directives: 0, cost: 2 }],
    // posts: 1 + 5 × (edges 1 + node 1 + id + title) = 21
    ['a page of 5', '{ posts(first: 5) { edges { node { id title } } } }', { depth: 4, cost: 21 }],
    ['a page of the default size', '{ posts { edges { node { id } } } }', { cost: 61 }],
    ['totalCount', '{ posts(first: 1) { totalCount } }', { cost: 2 }],
    // roles: 1 + 20 × (id + permissions)
    ['a list with no page argument', '{ roles { id permissions } }', { cost: 41 }],
    ['a list of scalars', '{ permissions }', { cost: 1 }],
    [
      'aliases and root fields',
      '{ a: post(id: "1") { id } b: post(id: "2") { t: title } }',
      { aliases: 3, rootFields: 2 },
    ],
    [
      'introspection is free',
      '{ __schema { types { name fields { name type { ofType { ofType { name } } } } } } }',
      { depth: 0, cost: 0 },
    ],
    ['directives', '{ post(id: "1") @include(if: true) { id @skip(if: false) } }', { directives: 2 }],
    ['_entities per representation', '{ _entities(representations: ["a", "b", "c"]) { id } }', { cost: 4 }],
  ])('%s', (_name, query, expected) => {
    expect(measure(query)).toMatchObject(expected);
  });

  it('takes page sizes from variables', () => {
    expect(measure('query ($n: Int) { posts(first: $n) { edges { node { id } } } }', { n: 50 }).cost).toBe(151);
  });

  it('counts a fragment as often as it is spread, measuring it once', () => {
    const query = `{ a: post(id: "1") { ...F } b: post(id: "2") { ...F } }
      fragment F on Post { x: id author { posts(first: 2) { totalCount } } }`;
    expect(measure(query)).toMatchObject({ aliases: 4, depth: 4, rootFields: 2 });
  });

  it('counts root fields through fragments', () => {
    expect(
      measure('{ ...Q ... on Query { post(id: "1") { id } } } fragment Q on Query { permissions roles { id } }')
        .rootFields,
    ).toBe(3);
  });
});

describe('checkOperation', () => {
  it('refuses the 10^6-post query by depth, naming the limit, maximum and measured value', () => {
    const error = refusal(MILLION);
    expect(error.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'depth', max: 10, measured: 12 });
  });

  it('refuses the same query by cost when depth allows it', () => {
    const document = parse(MILLION);
    expect(() =>
      checkOperation(schema, document, getOperationAST(document)!, undefined, { ...LIMITS, maxDepth: 50 }),
    ).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ limit: 'cost', measured: 4_040_401 }) }));
  });

  it('refuses too many aliases, root fields and directives', () => {
    const aliases = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: permissions`).join(' ')} }`;
    expect(refusal(aliases).extensions).toMatchObject({ limit: 'aliases', max: 30, measured: 31 });
    const roots = `{ ${Array.from({ length: 21 }, () => 'permissions').join(' ')} }`;
    expect(refusal(roots).extensions).toMatchObject({ limit: 'rootFields', max: 20, measured: 21 });
    const directives = `{ permissions ${Array.from({ length: 21 }, () => '@include(if: true)').join(' ')} }`;
    expect(refusal(directives).extensions).toMatchObject({ limit: 'directives', max: 20, measured: 21 });
  });

  it('counts a huge first even when the subgraph would refuse it', () => {
    expect(refusal('{ posts(first: 1000000) { totalCount } }').extensions).toMatchObject({ limit: 'cost' });
  });

  it('refuses a document whose fragments expand past what can be estimated, without expanding them all', () => {
    const level = (n: number) =>
      `fragment F${n} on Post { ${Array.from({ length: 10 }, () => `...F${n + 1}`).join(' ')} }`;
    const query = `{ post(id: "1") { ...F0 } } ${Array.from({ length: 8 }, (_, n) => level(n)).join(' ')} fragment F8 on Post { id }`;
    // 10^8 spreads if expanded: it returns (within the test's timeout) because the estimate stops early.
    expect(refusal(query).extensions).toMatchObject({ limit: 'cost', measured: null });
  });

  it('passes what the limits allow and returns the measures', () => {
    const document = parse(
      '{ posts(first: 100) { edges { node { id title author { id } } } pageInfo { hasNextPage } } }',
    );
    expect(checkOperation(schema, document, getOperationAST(document)!, undefined, LIMITS).cost).toBeLessThan(
      LIMITS.maxCost,
    );
  });

  it('leaves variables that do not fit to execution, which refuses them before any resolver runs', () => {
    expect(measure('query ($n: Int) { posts(first: $n) { totalCount } }', { n: 'many' }).cost).toBe(0);
    expect(measure('query ($id: ID!) { post(id: $id) { id } }', {}).cost).toBe(0);
  });
});

describe('token limit', () => {
  it('counts tokens without parsing, stopping one past the maximum', () => {
    expect(countTokens('{ a b(c: 1) }')).toBe(9);
    expect(countTokens('{ a b c d e }', 3)).toBe(4);
    expect(countTokens('{ "unterminated')).toBe(1);
  });

  it('refuses 10,000 aliases (350 KiB) after counting one token past the limit', () => {
    const query = `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: posts(first: 1) { totalCount }`).join(' ')} }`;
    expect(() => checkTokens(query, LIMITS)).toThrow(
      expect.objectContaining({
        extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens', measured: 2001 }),
      }),
    );
  });
});
