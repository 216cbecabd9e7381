import { InputError } from './errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else is BAD_USER_INPUT naming the argument, never a database error. */
export function requireUuid(value: string, field = 'id'): string {
  if (!UUID.test(value)) throw InputError.field(field, 'must be a UUID');
  return value.toLowerCase();
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
