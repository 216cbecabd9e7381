import fc from 'fast-check';
import {
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  type GraphQLInputType,
  type GraphQLNamedInputType,
} from 'graphql';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/** Integers around every boundary a server may trip on: Int32, doubles' exact range, int64, exponents. */
const EDGE_NUMBERS = [
  0,
  -0,
  1,
  -1,
  100,
  101,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 53 + 1,
  -(2 ** 63),
  2 ** 64,
  1e21,
  1.5,
  0.1,
  5e-324,
  Number.MAX_VALUE,
];

/** Strings that have broken parsers, databases and loggers before. */
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\u202eevil',
  '𝕏👩‍👩‍👧‍👦',
  "' or '1'='1",
  '"; drop table users; --',
  '%',
  '_',
  '\\',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  'null',
  'undefined',
  'NaN',
  '__proto__',
  'constructor',
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-4FFF-BFFF-FFFFFFFFFFFF',
  '2026-02-30T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '0000-01-01T00:00:00Z',
  'identity.login.failed',
  'blog.post.read',
  'admin',
  'admin@example.com',
];

export const numberArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -5, max: 150 }) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

/** An instant as clients write them: valid ISO strings over a huge range, and near misses. */
export const instantArb: fc.Arbitrary<string> = fc.oneof(
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString().slice(0, 19) + 'Z'),
  fc.constantFrom('2026-01-01', '2026-13-01T00:00:00Z', 'yesterday', '1767225600000', '2026-01-01T00:00:00+25:00'),
);

const idLikeArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.uuid().map((id) => id.toUpperCase()) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
);

/** Cursors: well-formed ones of every list, forged ones, and base64 of anything. */
export const cursorArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(instantArb, idLikeArb).map(([at, id]) => b64(`${at}|${id}`)),
  fc
    .oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER), fc.bigInt({ min: 0n, max: 10n ** 30n }))
    .map((n) => b64(`audit:${n}`)),
  fc.uint8Array({ maxLength: 120 }).map((bytes) => Buffer.from(bytes).toString('base64url')),
  fc.base64String({ maxLength: 80 }),
  fc.string({ maxLength: 20 }).map(b64),
);

export const stringArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 5_000 }).map((n) => 'x'.repeat(n)) },
  { weight: 2, arbitrary: fc.emailAddress() },
  { weight: 2, arbitrary: idLikeArb },
  { weight: 2, arbitrary: cursorArb },
  { weight: 1, arbitrary: instantArb },
);

const keyArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('title', 'content', 'email', 'password', 'name', 'id', 'first', 'after', 'input', '__proto__'),
  fc.string({ maxLength: 10 }),
);

/** Any JSON value, nested, with the leaves above. */
export const anyValueArb: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: stringArb },
    { weight: 3, arbitrary: numberArb },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(keyArb, tie('value'), { maxKeys: 4 }) },
  ),
})).value;

/** A value for an input type: mostly of that type (sometimes out of range), sometimes anything at all. */
export function inputValueArb(type: GraphQLInputType, depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) {
    return fc.oneof(
      { weight: 12, arbitrary: inputValueArb(type.ofType, depth) },
      { weight: 1, arbitrary: fc.constant(null) },
    );
  }
  if (isListType(type)) {
    return fc.oneof(
      { weight: 4, arbitrary: fc.array(inputValueArb(type.ofType, depth + 1), { maxLength: depth > 2 ? 1 : 5 }) },
      { weight: 1, arbitrary: inputValueArb(type.ofType, depth + 1) },
      { weight: 1, arbitrary: fc.constant(null) },
    );
  }
  return fc.oneof({ weight: 16, arbitrary: namedValueArb(type, depth) }, { weight: 1, arbitrary: anyValueArb });
}

function namedValueArb(type: GraphQLNamedInputType, depth: number): fc.Arbitrary<unknown> {
  if (isEnumType(type)) return fc.oneof(fc.constantFrom(...type.getValues().map((v) => v.name)), fc.string());
  if (isInputObjectType(type)) {
    if (depth > 3) return fc.constant({});
    const fields = Object.values(type.getFields());
    const known = fc.record(Object.fromEntries(fields.map((f) => [f.name, inputValueArb(f.type, depth + 1)])), {
      requiredKeys: [],
    });
    return fc.oneof(
      { weight: 5, arbitrary: known },
      {
        weight: 1,
        arbitrary: fc
          .tuple(known, fc.dictionary(keyArb, anyValueArb, { maxKeys: 2 }))
          .map(([a, b]) => ({ ...b, ...a })),
      },
    );
  }
  switch (type.name) {
    case 'Int':
    case 'Float':
      return numberArb;
    case 'Boolean':
      return fc.boolean();
    case 'ID':
      return idLikeArb;
    case 'DateTimeISO':
      return instantArb;
    case 'JSON':
      return anyValueArb;
    case '_Any':
      // An entity representation, as the gateway sends them to `_entities` (or not quite).
      return fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({ __typename: fc.constantFrom('Post', 'User', 'Role', 'AuditEvent'), id: idLikeArb }),
        },
        { weight: 1, arbitrary: fc.record({ __typename: stringArb, id: anyValueArb }, { requiredKeys: [] }) },
        { weight: 1, arbitrary: anyValueArb },
      );
    default:
      return fc.oneof({ weight: 3, arbitrary: stringArb }, { weight: 1, arbitrary: cursorArb });
  }
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** A JavaScript value written as a GraphQL literal (keys that are not names stay as they are: a syntax error). */
export function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '0';
  if (typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `{${entries.map(([key, inner]) => `${NAME.test(key) ? key : JSON.stringify(key)}: ${literal(inner)}`).join(', ')}}`;
}
