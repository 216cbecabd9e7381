import 'reflect-metadata';
import { describe, it, expect } from '@jest/globals';
import { InputError } from '../errors.js';
import {
  afterCursor,
  decodeCursor,
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  MAX_CURSOR_LENGTH,
  MAX_PAGE_SIZE,
  NEWEST_FIRST,
  newestFirst,
  pageOf,
  pageSize,
  toConnection,
} from './pagination.js';

const ID_A = '00000000-0000-4000-8000-00000000000a';
const ID_B = '00000000-0000-4000-8000-00000000000b';
const ID_C = '00000000-0000-4000-8000-00000000000c';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

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

  it('accepts the extremes PostgreSQL takes, and an upper-case id (lower-cased)', () => {
    for (const instant of ['0001-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '2024-02-29T12:00:00.000Z']) {
      expect(decodeCursor(b64(`${instant}|${ID_A}`))).toEqual({ createdAt: new Date(instant), id: ID_A });
    }
    expect(decodeCursor(b64(`2026-01-01T00:00:00.000Z|${ID_A.toUpperCase()}`)).id).toBe(ID_A);
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not-a-cursor'],
    ['characters outside base64url', '%%%'],
    ['standard base64', `${b64(`2026-01-01T00:00:00.000Z|${ID_A}`)}+/`],
    ['padding', `${b64(`2026-01-01T00:00:00.000Z|${ID_A}`)}==`],
    ['too long', 'A'.repeat(MAX_CURSOR_LENGTH + 1)],
    ['no separator', b64('2026-01-01T00:00:00.000Z')],
    ['bad date', b64(`yesterday|${ID_A}`)],
    ['no id', b64('2026-01-01T00:00:00.000Z|')],
    ['no date', b64(`|${ID_A}`)],
    ['an id that is not a UUID', b64('2026-01-01T00:00:00.000Z|x')],
    ['an id with SQL in it', b64(`2026-01-01T00:00:00.000Z|${ID_A}' or '1'='1`)],
    ['two ids', b64(`2026-01-01T00:00:00.000Z|${ID_A}|${ID_B}`)],
    ['year 0', b64(`0000-01-01T00:00:00.000Z|${ID_A}`)],
    ['a six-digit year', b64(`+020000-01-01T00:00:00.000Z|${ID_A}`)],
    ['a negative year', b64(`-000001-01-01T00:00:00.000Z|${ID_A}`)],
    ['a day the calendar lacks', b64(`2026-02-30T00:00:00.000Z|${ID_A}`)],
    ['hour 24', b64(`2026-01-01T24:00:00.000Z|${ID_A}`)],
    ['a time zone offset', b64(`2026-01-01T00:00:00.000+01:00|${ID_A}`)],
    ['no milliseconds', b64(`2026-01-01T00:00:00Z|${ID_A}`)],
    ['a date only', b64(`2026-01-01|${ID_A}`)],
    ['milliseconds since 1970', b64(`1767225600000|${ID_A}`)],
    ['a NUL byte', b64(`2026-01-01T00:00:00.000Z|${ID_A}\u0000`)],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7c, 0x41]).toString('base64url')],
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

describe('pageOf', () => {
  const cursor = { createdAt: new Date('2026-01-02T03:04:05.678Z'), id: ID_A };

  it.each([
    ['nothing', {}, { size: DEFAULT_PAGE_SIZE }],
    ['nulls', { first: null, after: null }, { size: DEFAULT_PAGE_SIZE }],
    ['an empty cursor (no position yet)', { first: 5, after: '' }, { size: 5 }],
    ['a size and a cursor', { first: 100, after: encodeCursor(cursor) }, { size: 100, cursor }],
  ])('accepts %s', (_case, args, page) => {
    expect(pageOf(args)).toEqual(page);
  });

  it.each([
    ['first', { first: 0 }],
    ['first', { first: MAX_PAGE_SIZE + 1 }],
    ['first', { first: 2 ** 31 - 1 }],
    ['first', { first: -(2 ** 31) }],
    ['after', { after: 'bm90IGEgY3Vyc29y' }],
    ['after', { first: 10, after: b64(`2026-01-01T00:00:00.000Z|not-a-uuid`) }],
    ['after', { after: b64(`99999-01-01T00:00:00.000Z|${ID_A}`) }],
  ])('refuses a bad `%s` as BAD_USER_INPUT naming it', (field, args) => {
    const error = thrown(() => pageOf(args));
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).fields.map((f) => f.field)).toEqual([field]);
  });

  it("hands a list's own decoder the decoded text of a well-formed argument", () => {
    const seen: string[] = [];
    const page = pageOf({ first: 3, after: b64('audit:42') }, (text) => {
      seen.push(text);
      return Number(text.slice('audit:'.length));
    });
    expect(page).toEqual({ size: 3, cursor: 42 });
    expect(seen).toEqual(['audit:42']);
  });

  it('refuses what is not base64url, or too long, before the decoder sees it', () => {
    const decode = (): number => {
      throw new Error('must not be called');
    };
    for (const after of ['%%%', 'a b', 'A'.repeat(MAX_CURSOR_LENGTH + 1)]) {
      expect(thrown(() => pageOf({ after }, decode))).toBeInstanceOf(InputError);
    }
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
