import { raw } from '@mikro-orm/core';
import {
  afterCursor,
  InputError,
  NEWEST_FIRST,
  pageOf,
  toConnection,
  type Connection,
  type FieldError,
  type EntityManager,
} from '@platform/kernel';
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
  if (email.length === 0) return [{ field, message: 'is required' }];
  if (email.length > 320) return [{ field, message: 'must be at most 320 characters' }];
  return EMAIL.test(email) ? [] : [{ field, message: 'is not a valid email address' }];
}

/** A display name as stored: trimmed, null when empty. */
export function cleanDisplayName(value: string | null | undefined, field = 'displayName'): string | null {
  if (value === null || value === undefined) return null;
  const trimmed = value.trim().replace(/\s+/g, ' ');
  if (trimmed.length > 100) throw InputError.field(field, 'must be at most 100 characters');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw InputError.field(field, 'must not contain control characters');
  return trimmed || null;
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
  if (search && search.length > 100) throw InputError.field('search', 'must be at most 100 characters');
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
