import { raw } from '@mikro-orm/core';
import {
  afterCursor,
  fieldError,
  InputError,
  isSupportedLocale,
  SUPPORTED_LOCALES,
  NEWEST_FIRST,
  pageOf,
  toConnection,
  type Connection,
  type FieldError,
  type EntityManager,
} from '@platform/kernel';
import { text } from '../i18n/index.js';
import { User } from './user.entity.js';

/** Loads users by id in one statement, in the order asked (null where missing). */
export async function usersByIds(em: EntityManager, ids: readonly string[]): Promise<Array<User | null>> {
  const rows = await em.find(User, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Trimmed and lower-cased: the form emails are stored, compared and throttled in. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Problems with an email address given by a user (field `email`). */
export function emailProblems(email: string, field = 'email'): FieldError[] {
  if (email.length === 0) return [fieldError(field, text('email.required'))];
  if (email.length > 320) return [fieldError(field, text('email.tooLong'))];
  return EMAIL.test(email) ? [] : [fieldError(field, text('email.invalid'))];
}

/** A display name as stored: trimmed, null when empty. */
export function cleanDisplayName(value: string | null | undefined, field = 'displayName'): string | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim().replace(/\s+/g, ' ');
  if (trimmed.length > 100) throw InputError.field(field, text('text.atMost100'));
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw InputError.field(field, text('text.controlCharacters'));
  return trimmed || null;
}

/** A saved locale as stored: one of the supported locales (`de`, not `de-AT` or `DE`), or null. */
export function cleanLocale(value: string | null | undefined, field = 'locale'): string | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const locale = value.trim();
  if (!isSupportedLocale(locale))
    throw InputError.field(field, text('locale.unsupported', { locales: SUPPORTED_LOCALES.join(', ') }));
  return locale;
}

/** A live (not deleted) account by its normalised email. */
export async function findUserByEmail(
  em: EntityManager,
  email: string,
  options: { withPassword?: boolean } = {},
): Promise<User | null> {
  return em.findOne(
    User,
    { [raw('lower(email)')]: email, deletedAt: null },
    options.withPassword ? { populate: ['passwordHash'] } : {},
  );
}

export interface ListUsersArgs {
  first?: number | null;
  after?: string | null;
  search?: string | null;
}

/** Live accounts, newest first, optionally matching a search over email and display name. */
export async function listUsers(em: EntityManager, args: ListUsersArgs): Promise<Connection<User>> {
  const { size, cursor } = pageOf(args);
  const search = args.search?.trim();
  if (search && search.length > 100) throw InputError.field('search', text('text.atMost100'));
  const pattern = search ? `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : undefined;
  const scope = {
    deletedAt: null,
    ...(pattern
      ? { $or: [{ [raw('lower(email)')]: { $like: pattern } }, { [raw('lower(display_name)')]: { $like: pattern } }] }
      : {}),
  };
  const [rows, totalCount] = await Promise.all([
    em.find(User, { $and: [scope, afterCursor(cursor)] }, { orderBy: NEWEST_FIRST, limit: size + 1 }),
    em.count(User, scope),
  ]);
  return toConnection(rows, size, totalCount);
}
