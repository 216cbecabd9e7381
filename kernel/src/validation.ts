import { InputError } from './errors.js';
import { msg } from './i18n/index.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs; anything else is BAD_USER_INPUT naming the argument, never a database error. */
export function requireUuid(value: string, field = 'id'): string {
  if (!UUID.test(value)) throw InputError.field(field, msg('errors:validation.uuid'));
  return value.toLowerCase();
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}
