import { isUnionType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { InputError } from '../errors.js';
import { msg } from '../i18n/index.js';

/**
 * Refuses `_entities` representations this subgraph cannot resolve, before @apollo/subgraph tries:
 * anything but an object whose `__typename` names one of its entity types (`_Entity`'s members).
 * The gateway only sends good ones, but a caller reaching the subgraph directly may send `true`,
 * `{ "__typename": "Role" }` to identity or `{ "__typename": "PageInfo" }`, which failed as
 * unexpected errors (INTERNAL_SERVER_ERROR, logged; found by test/fuzz.e2e.test.ts). Now they
 * are BAD_USER_INPUT naming `representations`. Changes the schema's `_entities` field in place.
 */
export function guardEntityRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()._entities;
  const union = schema.getType('_Entity');
  if (!field?.resolve || !isUnionType(union)) return;
  const entities = new Set(union.getTypes().map((type) => type.name));
  const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve;
  field.resolve = (source, args: { representations?: unknown }, context, info) => {
    const representations = Array.isArray(args.representations) ? args.representations : [];
    if (!representations.every((representation) => isResolvable(representation, entities))) {
      throw InputError.field('representations', msg('errors:validation.representations'));
    }
    return resolve(source, args, context, info);
  };
}

function isResolvable(representation: unknown, entities: ReadonlySet<string>): boolean {
  if (typeof representation !== 'object' || representation === null || Array.isArray(representation)) return false;
  const typename = (representation as { __typename?: unknown }).__typename;
  return typeof typename === 'string' && entities.has(typename);
}
