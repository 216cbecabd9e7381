import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { FuzzOperation } from './operations.js';
import { anyValueArb, stringArb } from './values.js';

/** Where a request goes: the gateway, or a subgraph reached directly. */
export type FuzzTarget = 'gateway' | 'blog' | 'identity' | 'authz' | 'audit';
/** Whose credentials it carries (tokens are looked up when it is sent, so runs replay from a seed). */
export type FuzzCaller = 'anonymous' | 'user' | 'admin' | 'garbage' | 'malformed';

/** One HTTP request, as the fuzzer sends it and prints it when the server fails it. */
export interface FuzzRequest {
  target: FuzzTarget;
  caller: FuzzCaller;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'OPTIONS';
  /** Query string for GET (with its `?`). */
  search: string;
  headers: Record<string, string>;
  body?: string;
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/graphql-response+json',
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'application/graphql',
  'application/json; charset=utf-16',
  'application/json; charset=bogus',
  'application/xml',
  '*/*',
  'application/json, text/plain',
];

const ACCEPTS = [
  'application/json',
  'application/graphql-response+json',
  'application/graphql-response+json, application/json;q=0.9',
  'multipart/mixed; deferSpec=20220824, application/json',
  'multipart/mixed; subscriptionSpec=1.0, application/json',
  'text/event-stream',
  'text/html',
  'image/png',
  '*/*',
  '',
];

/** A value of `arb` in about one request of `oneIn`, undefined in the others. */
const rarely = <T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const HEX_64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
/** Over `http.bodyLimit` (1 MiB). */
const OVERSIZED_BODY = JSON.stringify({ query: `{ __typename } #${'x'.repeat(1_100_000)}` });

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The `extensions` of a request: none mostly, a persisted query right or wrong, or anything. */
const extensionsArb = (query: string): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 60, arbitrary: fc.constant(undefined) },
    {
      weight: 2,
      arbitrary: fc
        .record({
          version: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: anyValueArb }),
          sha256Hash: fc.oneof(fc.constant(sha256(query)), HEX_64, stringArb),
        })
        .map((persistedQuery) => ({ persistedQuery })),
    },
    { weight: 1, arbitrary: anyValueArb },
  );

/** A POST body: mostly the usual object (fields left out or of the wrong type), sometimes not. */
const postBodyArb = (operation: FuzzOperation): fc.Arbitrary<string> => {
  const envelope = fc
    .record(
      {
        query: fc.oneof(
          { weight: 30, arbitrary: fc.constant(operation.query) },
          { weight: 1, arbitrary: anyValueArb },
          { weight: 1, arbitrary: fc.constant(undefined) },
        ),
        variables: fc.constant(operation.variables),
        operationName: fc.constant(operation.operationName),
        extensions: extensionsArb(operation.query),
      },
      { requiredKeys: ['query', 'variables', 'operationName', 'extensions'] },
    )
    .map((body) => JSON.stringify(body));
  return fc.oneof(
    { weight: 200, arbitrary: envelope },
    // A batch (not supported), JSON that is no object, a truncated or empty body, a huge one.
    { weight: 1, arbitrary: fc.array(envelope, { maxLength: 3 }).map((items) => `[${items.join(',')}]`) },
    { weight: 1, arbitrary: anyValueArb.map((value) => JSON.stringify(value) ?? '') },
    { weight: 1, arbitrary: fc.tuple(envelope, fc.nat()).map(([body, n]) => body.slice(0, n % (body.length + 1))) },
    { weight: 1, arbitrary: stringArb },
    { weight: 1, arbitrary: fc.constant(OVERSIZED_BODY) },
  );
};

/** GET parameters: `query`, `variables` and `extensions` as JSON (or not), sometimes repeated. */
const searchArb = (operation: FuzzOperation): fc.Arbitrary<string> =>
  fc
    .tuple(extensionsArb(operation.query), rarely(fc.constant(true), 10), rarely(fc.constant(true), 20))
    .map(([extensions, rawVariables, repeat]) => {
      const params = new URLSearchParams();
      params.set('query', operation.query);
      if (operation.variables !== undefined) {
        const json = JSON.stringify(operation.variables) ?? '';
        // Raw: not JSON (a string as is, JSON cut short).
        params.set(
          'variables',
          rawVariables ? (typeof operation.variables === 'string' ? operation.variables : json.slice(0, -1)) : json,
        );
      }
      if (typeof operation.operationName === 'string') params.set('operationName', operation.operationName);
      if (extensions !== undefined) params.set('extensions', JSON.stringify(extensions));
      if (repeat) params.append('query', '{ __typename }');
      return `?${params.toString()}`;
    });

const headersArb: fc.Arbitrary<Record<string, string>> = fc
  .record({
    'content-type': fc.oneof(
      { weight: 60, arbitrary: fc.constant('application/json') },
      { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
    accept: rarely(fc.constantFrom(...ACCEPTS), 8),
    'apollo-require-preflight': rarely(fc.constant('1'), 2),
    'x-request-id': rarely(fc.oneof(fc.uuid(), fc.string({ maxLength: 200 })), 6),
    traceparent: rarely(
      fc.oneof(fc.constant('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), fc.string({ maxLength: 60 })),
      6,
    ),
    'content-encoding': rarely(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'bogus'), 30),
  })
  // Header values must be ISO-8859-1 without control characters, or fetch refuses to send them.
  .map((headers) =>
    Object.fromEntries(
      Object.entries(headers)
        .filter((entry): entry is [string, string] => entry[1] !== undefined)
        .map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/g, '?')]),
    ),
  );

/**
 * A whole request: target (the gateway mostly, a subgraph reached directly one time in three,
 * with operations of that target's schema), caller, method, headers and body.
 */
export function requestArb(operations: Record<FuzzTarget, fc.Arbitrary<FuzzOperation>>): fc.Arbitrary<FuzzRequest> {
  return fc
    .tuple(
      fc.oneof(
        { weight: 6, arbitrary: fc.constant<FuzzTarget>('gateway') },
        { weight: 1, arbitrary: fc.constantFrom<FuzzTarget>('blog', 'identity', 'authz') },
        { weight: 1, arbitrary: fc.constantFrom<FuzzTarget>('blog', 'identity', 'audit') },
      ),
      fc.constantFrom<FuzzCaller>('anonymous', 'anonymous', 'user', 'user', 'admin', 'admin', 'garbage', 'malformed'),
      fc.oneof(
        { weight: 16, arbitrary: fc.constant('POST' as const) },
        { weight: 4, arbitrary: fc.constant('GET' as const) },
        { weight: 1, arbitrary: fc.constantFrom('PUT' as const, 'DELETE' as const, 'OPTIONS' as const) },
      ),
      headersArb,
    )
    .chain(([target, caller, method, headers]) =>
      operations[target]
        .chain((operation) => (method === 'GET' ? searchArb(operation) : postBodyArb(operation)))
        .map((payload): FuzzRequest =>
          method === 'GET'
            ? { target, caller, method, search: payload, headers: withoutBodyHeaders(headers) }
            : { target, caller, method, search: '', headers, body: payload },
        ),
    );
}

function withoutBodyHeaders(headers: Record<string, string>): Record<string, string> {
  const { 'content-encoding': _encoding, ...rest } = headers;
  void _encoding;
  return rest;
}
