import { describe, expect, it } from '@jest/globals';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse } from 'graphql';
import { InputError } from '../errors.js';
import { guardEntityRepresentations } from './entities.js';

const schema = buildSubgraphSchema([
  {
    typeDefs: parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      type Query { post(id: ID!): Post }
      type Post @key(fields: "id") { id: ID! title: String! }
      type PageInfo { hasNextPage: Boolean! }
    `),
    resolvers: {
      Post: {
        __resolveReference: (reference: { id: string }) => ({ id: reference.id, title: `post ${reference.id}` }),
      },
    },
  },
]);
guardEntityRepresentations(schema);

const ENTITIES = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Post { id title } } }';
const run = (representations: unknown[]) =>
  graphql({ schema, source: ENTITIES, variableValues: { r: representations } });

describe('guardEntityRepresentations', () => {
  it('resolves representations of its entities as before', async () => {
    expect(await run([{ __typename: 'Post', id: '1' }])).toEqual({
      data: { _entities: [{ id: '1', title: 'post 1' }] },
    });
  });

  it.each<[string, unknown[]]>([
    ['a boolean', [true]],
    ['a string', ['Post']],
    ['an array', [['Post']]],
    ['no __typename', [{ id: '1' }]],
    ['a __typename that is not a string', [{ __typename: 7, id: '1' }]],
    ['a type of another subgraph', [{ __typename: 'Role', id: '1' }]],
    ['a type that is no entity', [{ __typename: 'PageInfo' }]],
    ['the root type', [{ __typename: 'Query' }]],
    ['one bad among good ones', [{ __typename: 'Post', id: '1' }, { __typename: 'Nope' }]],
  ])('refuses %s as BAD_USER_INPUT naming representations', async (_case, representations) => {
    const result = await run(representations);
    expect(result.data).toBeNull();
    const error = result.errors?.[0]?.originalError;
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).fields).toEqual([
      { field: 'representations', message: 'must be objects whose __typename is an entity of this subgraph' },
    ]);
  });
});
