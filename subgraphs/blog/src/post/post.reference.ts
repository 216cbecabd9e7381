import type { GraphQLContext } from '@platform/kernel';
import type { Post } from './post.entity.js';
import { postsByIds } from './post.service.js';

/** Loads a post through the request's DataLoader, so any number of lookups is one query. */
export function loadPost(ctx: GraphQLContext, id: string): Promise<Post | null> {
  return ctx.loader<string, Post | null>('Post.byId', (ids) => postsByIds(ctx.em, ids)).load(id);
}

/** `_entities` lookups of `Post` from other subgraphs. */
export function resolvePostReference(reference: { id?: unknown }, ctx: GraphQLContext): Promise<Post | null> | null {
  return typeof reference.id === 'string' ? loadPost(ctx, reference.id) : null;
}
