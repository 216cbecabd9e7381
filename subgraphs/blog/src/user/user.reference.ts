import { isUuid } from '@platform/kernel';
import { User, userOf } from './user.type.js';

/**
 * `_entities` lookups of `User`: what blog adds needs only the id, so nothing is read here
 * (identity answers whether the user exists). A malformed id resolves to null.
 */
export function resolveUserReference(reference: { id?: unknown }): User | null {
  return isUuid(reference.id) ? userOf(reference.id.toLowerCase()) : null;
}
