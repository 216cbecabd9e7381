import { Directive, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { InputError } from '../errors.js';
import { msg } from '../i18n/index.js';
import { isUuid } from '../validation.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

@ObjectType({ description: 'Relay page information' })
@Directive('@shareable')
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface Edge<T> {
  node: T;
  cursor: string;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: PageInfo;
  totalCount: number;
}

/**
 * Declares `<Name>Connection` and `<Name>Edge` GraphQL types for a node type
 * (`edges { node cursor }`, `pageInfo`, `totalCount`).
 */
export function ConnectionType<T extends object>(node: ClassType<T>, name: string): ClassType<Connection<T>> {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field(() => node)
    node!: T;

    @Field()
    cursor!: string;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionClass {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int)
    totalCount!: number;
  }
  return ConnectionClass;
}

/**
 * A keyset position: newest-first lists order by (createdAt desc, id desc). Lists ordered by
 * another timestamp (e.g. `occurredAt`) keep that value in `createdAt` too: a cursor is just
 * "the position of the last row", opaque to clients.
 */
export interface Cursor {
  createdAt: Date;
  id: string;
}

/** The timestamp property a newest-first list orders by; `createdAt` unless said otherwise. */
export const DEFAULT_ORDER_FIELD = 'createdAt';

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.createdAt.toISOString()}|${cursor.id}`, 'utf8').toString('base64url');
}

/** Longest `after` accepted: ours are 84 characters; anything much longer is not one of ours. */
export const MAX_CURSOR_LENGTH = 256;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Exactly what `Date.toISOString` writes for years 0001-9999, the range PostgreSQL's timestamptz takes too. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const invalidCursor = (): InputError => InputError.field('after', msg('errors:validation.cursor'));

/**
 * The text inside an `after` argument, or BAD_USER_INPUT naming `after`: base64url, no longer
 * than MAX_CURSOR_LENGTH. Lists with their own cursor format decode from this (see `pageOf`).
 */
function cursorText(value: string): string {
  if (value.length > MAX_CURSOR_LENGTH || !BASE64URL.test(value)) throw invalidCursor();
  return Buffer.from(value, 'base64url').toString('utf8');
}

/**
 * Decodes an `after` argument, accepting only what `encodeCursor` writes: an instant PostgreSQL
 * can compare (years 1-9999, a real calendar date) and a UUID. Anything else, forged or
 * truncated, is BAD_USER_INPUT naming `after`, never a database error.
 */
export function decodeCursor(value: string): Cursor {
  const decoded = cursorText(value);
  const separator = decoded.indexOf('|');
  const instant = decoded.slice(0, separator);
  const id = decoded.slice(separator + 1);
  if (separator < 0 || !ISO_INSTANT.test(instant) || !isUuid(id)) throw invalidCursor();
  const createdAt = new Date(instant);
  // Rejects what the pattern lets through but the calendar does not (2026-02-30, 24:00, year 0).
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== instant || instant.startsWith('0000')) {
    throw invalidCursor();
  }
  return { createdAt, id: id.toLowerCase() };
}

/** Validates `first` (default 20, 1..100). */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw InputError.field('first', msg('errors:validation.pageSize', { max: MAX_PAGE_SIZE }));
  }
  return first;
}

/** The arguments of every list field: `first` and `after`, as clients send them. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** A validated page of a newest-first list: `size` rows after `cursor` (from the start without one). */
export interface PageRequest<C = Cursor> {
  size: number;
  cursor?: C;
}

/**
 * The one place a list's `first` and `after` are checked, before any query runs: BAD_USER_INPUT
 * naming the argument for a size out of range or a cursor that is not one this list wrote. Lists
 * with their own cursor format pass its decoder, which gets the decoded text of a well-formed
 * base64url argument and throws (e.g. `InputError.field('after', …)`) for anything else.
 *
 * @example
 * const page = pageOf({ first, after });
 * em.find(Post, afterCursor(page.cursor), { orderBy: NEWEST_FIRST, limit: page.size + 1 });
 */
export function pageOf(args: PageArgs): PageRequest;
export function pageOf<C>(args: PageArgs, decode: (text: string) => C): PageRequest<C>;
export function pageOf<C>(args: PageArgs, decode?: (text: string) => C): PageRequest<C | Cursor> {
  const size = pageSize(args.first);
  if (args.after === null || args.after === undefined || args.after === '') return { size };
  return { size, cursor: decode ? decode(cursorText(args.after)) : decodeCursor(args.after) };
}

/**
 * Builds a connection from rows fetched with `limit = size + 1` (the extra row only tells
 * whether there is a next page). `orderField` names the timestamp the list is ordered by.
 */
export function toConnection<T extends { id: string; createdAt: Date }>(
  rows: T[],
  size: number,
  totalCount: number,
): Connection<T>;
export function toConnection<T extends { id: string } & Record<K, Date>, K extends string>(
  rows: T[],
  size: number,
  totalCount: number,
  orderField: K,
): Connection<T>;
export function toConnection<T extends { id: string }>(
  rows: T[],
  size: number,
  totalCount: number,
  orderField: string = DEFAULT_ORDER_FIELD,
): Connection<T> {
  const page = rows.slice(0, size);
  const edges = page.map((node) => ({
    node,
    cursor: encodeCursor({ createdAt: (node as unknown as Record<string, Date>)[orderField]!, id: node.id }),
  }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount,
  };
}

/** MikroORM filter for rows after `cursor` in newest-first order of `orderField`. */
export function afterCursor(
  cursor: Cursor | undefined,
  orderField: string = DEFAULT_ORDER_FIELD,
): Record<string, unknown> {
  if (!cursor) return {};
  return {
    $or: [{ [orderField]: { $lt: cursor.createdAt } }, { [orderField]: cursor.createdAt, id: { $lt: cursor.id } }],
  };
}

/** Newest first by `orderField`, ties broken by id so cursors are stable. */
export function newestFirst<K extends string>(orderField: K): { [P in K | 'id']: 'desc' } {
  return { [orderField]: 'desc', id: 'desc' } as { [P in K | 'id']: 'desc' };
}

/** Newest first, ties broken by id so cursors are stable. */
export const NEWEST_FIRST = { createdAt: 'desc', id: 'desc' } as const;
