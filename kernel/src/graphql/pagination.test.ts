import 'reflect-metadata';
import { describe, it, expect } from '@jest/globals';
import { InputError } from '../errors.js';
import {
  afterCursor,
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  MAX_PAGE_SIZE,
  NEWEST_FIRST,
  newestFirst,
  pageSize,
  toConnection,
} from './pagination.js';

const ID_A = '00000000-0000-4000-8000-00000000000a';
const ID_B = '00000000-0000-4000-8000-00000000000b';
const ID_C = '00000000-0000-4000-8000-00000000000c';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('cursors', () => {
  it('round-trips through encode and decode', () => {
    const cursor = { createdAt: new Date('2026-01-02T03:04:05.678Z'), id: ID_A };
    const encoded = encodeCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(encoded)).toEqual(cursor);
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not-a-cursor'],
    ['no separator', Buffer.from('2026-01-01T00:00:00.000Z').toString('base64url')],
    ['bad date', Buffer.from(`yesterday|${ID_A}`).toString('base64url')],
    ['no id', Buffer.from('2026-01-01T00:00:00.000Z|').toString('base64url')],
    ['no date', Buffer.from(`|${ID_A}`).toString('base64url')],
  ])('rejects a malformed cursor (%s) naming `after`', (_case, value) => {
    const error = thrown(() => decodeCursor(value));
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).extensions.code).toBe('BAD_USER_INPUT');
    expect((error as InputError).fields).toEqual([{ field: 'after', message: 'is not a valid cursor' }]);
  });
});

describe('pageSize', () => {
  it('defaults to 20', () => {
    expect(DEFAULT_PAGE_SIZE).toBe(20);
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(null)).toBe(20);
  });

  it.each([1, 2, 50, 100])('accepts %d', (first) => {
    expect(pageSize(first)).toBe(first);
  });

  it.each([0, -1, 101, 1000, 1.5, Number.NaN])('rejects %d naming `first`', (first) => {
    const error = thrown(() => pageSize(first));
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).fields[0]).toEqual({
      field: 'first',
      message: `must be between 1 and ${MAX_PAGE_SIZE}`,
    });
  });
});

describe('toConnection', () => {
  const rows = [
    { id: ID_C, createdAt: new Date('2026-01-03T00:00:00.000Z') },
    { id: ID_B, createdAt: new Date('2026-01-02T00:00:00.000Z') },
    { id: ID_A, createdAt: new Date('2026-01-01T00:00:00.000Z') },
  ];

  it('reports a next page when the extra row came back', () => {
    const connection = toConnection(rows, 2, 3);
    expect(connection.edges.map((edge) => edge.node.id)).toEqual([ID_C, ID_B]);
    expect(connection.pageInfo.hasNextPage).toBe(true);
    expect(connection.pageInfo.endCursor).toBe(connection.edges[1]!.cursor);
    expect(decodeCursor(connection.pageInfo.endCursor!)).toEqual({ createdAt: rows[1]!.createdAt, id: ID_B });
    expect(connection.totalCount).toBe(3);
  });

  it('reports the last page', () => {
    const connection = toConnection(rows, 3, 3);
    expect(connection.edges).toHaveLength(3);
    expect(connection.pageInfo.hasNextPage).toBe(false);
    expect(connection.pageInfo.endCursor).toBe(connection.edges[2]!.cursor);
  });

  it('has no end cursor when empty', () => {
    expect(toConnection([], 20, 0)).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, endCursor: null },
      totalCount: 0,
    });
  });

  it('encodes another order field when asked', () => {
    const events = [{ id: ID_A, occurredAt: new Date('2026-05-05T05:05:05.005Z') }];
    const connection = toConnection(events, 20, 1, 'occurredAt');
    expect(decodeCursor(connection.edges[0]!.cursor)).toEqual({ createdAt: events[0]!.occurredAt, id: ID_A });
  });
});

describe('afterCursor and ordering', () => {
  const cursor = { createdAt: new Date('2026-01-01T00:00:00.000Z'), id: ID_B };

  it('is no filter without a cursor', () => {
    expect(afterCursor(undefined)).toEqual({});
    expect(afterCursor(undefined, 'occurredAt')).toEqual({});
  });

  it('filters strictly after the cursor, ties broken by id', () => {
    expect(afterCursor(cursor)).toEqual({
      $or: [{ createdAt: { $lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { $lt: ID_B } }],
    });
    expect(afterCursor(cursor, 'occurredAt')).toEqual({
      $or: [{ occurredAt: { $lt: cursor.createdAt } }, { occurredAt: cursor.createdAt, id: { $lt: ID_B } }],
    });
  });

  it('orders newest first by the given field', () => {
    expect(newestFirst('createdAt')).toEqual(NEWEST_FIRST);
    expect(newestFirst('occurredAt')).toEqual({ occurredAt: 'desc', id: 'desc' });
  });
});
