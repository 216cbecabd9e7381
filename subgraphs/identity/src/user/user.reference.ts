import { isUuid, type GraphQLContext } from '@platform/kernel';
import type { IdentityContext } from '../context.js';
import type { User } from './user.entity.js';
import { usersByIds } from './user.service.js';

/** Loads a user through the request's DataLoader, so any number of lookups is one query. */
export function loadUser(ctx: GraphQLContext, id: string): Promise<User | null> {
  return ctx.loader<string, User | null>('User.byId', (ids) => usersByIds(ctx.em, ids)).load(id);
}

/**
 * `_entities` lookups of `User` from other subgraphs. Profiles are public and the private
 * fields keep their own rules, so the only guard needed here is a well-formed id. Unverified
 * accounts resolve too, unlike in `user(id)`: another module only holds an id it was given (a
 * post's author), and `author: User!` must not break for a user who has not verified yet. Served
 * from the user cache (`userCacheTtlSec`), which every change of a user clears.
 */
export function resolveUserReference(
  reference: { __typename: string; id?: unknown },
  ctx: GraphQLContext,
): Promise<User | null> | null {
  if (!isUuid(reference.id)) return null;
  const id = reference.id.toLowerCase();
  const { users } = (ctx as IdentityContext).services;
  return users.enabled ? users.load(ctx, id) : loadUser(ctx, id);
}
