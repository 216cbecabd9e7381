import { Directive, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { InputError } from '../errors.js';

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

/** Decodes an `after` argument; a malformed cursor is BAD_USER_INPUT naming `after`. */
export function decodeCursor(value: string): Cursor {
  const decoded = Buffer.from(value, 'base64url').toString('utf8');
  const separator = decoded.indexOf('|');
  const createdAt = new Date(decoded.slice(0, separator));
  const id = decoded.slice(separator + 1);
  if (separator <= 0 || Number.isNaN(createdAt.getTime()) || !id) {
    throw InputError.field('after', 'is not a valid cursor');
  }
  return { createdAt, id };
}

/** Validates `first` (default 20, 1..100). */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw InputError.field('first', `must be between 1 and ${MAX_PAGE_SIZE}`);
  }
  return first;
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
