import { isUuid, type GraphQLContext } from '@platform/kernel';
import type { Post } from './post.entity.js';
import { postsByIds } from './post.queries.js';

/** Loads a post through the request's DataLoader: any number of lookups in a request is one query. */
export function loadPost(ctx: GraphQLContext, id: string): Promise<Post | null> {
  return ctx.loader<string, Post | null>('Post.byId', (ids) => postsByIds(ctx.em, ids)).load(id);
}

/** `_entities` lookups of `Post` from other subgraphs (guarded by the module's reference rule). */
export function resolvePostReference(reference: { id?: unknown }, ctx: GraphQLContext): Promise<Post | null> | null {
  return isUuid(reference.id) ? loadPost(ctx, reference.id.toLowerCase()) : null;
}
