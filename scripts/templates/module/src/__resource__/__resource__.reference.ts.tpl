import { isUuid, type GraphQLContext } from '@platform/kernel';
import type { __Resource__ } from './__resource__.entity.js';
import { __resources__ById } from './__resource__.queries.js';

/** Loads a __resource__ through the request's DataLoader: every lookup of a request is one query. */
export function load__Resource__(ctx: GraphQLContext, id: string): Promise<__Resource__ | null> {
  return ctx
    .loader<string, __Resource__ | null>('__Resource__.byId', (ids) => __resources__ById(ctx.em, ids))
    .load(id);
}

/**
 * `_entities` lookups of `__Resource__` from other subgraphs. The kernel runs the reference's
 * rule first (module.ts), since graphql-shield does not guard `__resolveReference`.
 */
export function resolve__Resource__Reference(
  reference: { id?: unknown },
  ctx: GraphQLContext,
): Promise<__Resource__ | null> | null {
  return isUuid(reference.id) ? load__Resource__(ctx, reference.id.toLowerCase()) : null;
}
