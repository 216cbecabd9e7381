import { isUuid, type GraphQLContext } from '@platform/kernel';
import type { __Resource__ } from './__resource__.entity.js';
import { __resources__ByIds } from './__resource__.queries.js';

/** Loads a __resource__ through the request's DataLoader: any number of lookups in a request is one query. */
export function load__Resource__(ctx: GraphQLContext, id: string): Promise<__Resource__ | null> {
  return ctx
    .loader<string, __Resource__ | null>('__Resource__.byId', (ids) => __resources__ByIds(ctx.em, ids))
    .load(id);
}

/** `_entities` lookups of `__Resource__` from other subgraphs (guarded by the module's reference rule). */
export function resolve__Resource__Reference(
  reference: { id?: unknown },
  ctx: GraphQLContext,
): Promise<__Resource__ | null> | null {
  return isUuid(reference.id) ? load__Resource__(ctx, reference.id.toLowerCase()) : null;
}
