import { isUuid, publicAccess, type EntityReference } from '@platform/kernel';
import { User, userOf } from './user.type.js';

/**
 * `_entities` lookups of `User`: what blog adds needs only the id, so nothing is read here
 * (identity answers whether the user exists). A malformed id resolves to null.
 */
export function resolveUserReference(reference: { id?: unknown }): User | null {
  return isUuid(reference.id) ? userOf(reference.id.toLowerCase()) : null;
}

/** The module's reference for `User`. Only the id: `posts` carries its own rule. */
export const userReference: EntityReference = { rule: publicAccess, resolve: resolveUserReference };
