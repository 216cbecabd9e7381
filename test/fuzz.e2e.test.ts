import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import { eventually } from '@platform/kernel/testing';
import identity from '@platform/identity';
import type { GraphQLSchema } from 'graphql';
import { operationArbs, type FuzzOperation } from './fuzz/operations.js';
import { requestArb, type FuzzCaller, type FuzzRequest, type FuzzTarget } from './fuzz/requests.js';
import { schemaNames, seedOperations, subgraphSchema, supergraphSchema, validFor } from './fuzz/seeds.js';
import { register, signIn, startTestPlatform, type TestPlatform } from './helpers.js';

/**
 * Property: whatever a client sends, the platform answers it as a client error or a result,
 * never a server error. Real operations (the README's, the end-to-end suites') mutated token by
 * token, operations built from the supergraph's fields with arguments of every type and of none,
 * random variables and operation names, nesting, JSON bodies, content types, GET and POST, go to
 * the gateway and, one in three, straight to a subgraph, eight at a time. Expected: no HTTP 5xx,
 * no INTERNAL_SERVER_ERROR, no error logged, no dropped connection, and a normal query answered
 * afterwards. Limits and rate limits refusing requests (4xx) are fine.
 *
 * A failure prints fast-check's seed and the offending request and response; replay it with
 * FUZZ_SEED=<seed> (FUZZ_RUNS sets the number of requests, 10,000 by default).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const CONCURRENCY = 8;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const REQUEST_TIMEOUT_MS = 20_000;
const ADMIN = { email: 'fuzz-admin@example.com', password: 'Fuzzing administrator passphrase 8841' };
const USER = { email: 'fuzz-writer@example.com', password: 'Fuzzing writer passphrase 5120', displayName: 'Fuzz' };

interface Outcome {
  request: FuzzRequest;
  status?: number;
  body?: string;
  failure?: string;
}

describe('fuzzing the supergraph', () => {
  let platform: TestPlatform;
  const tokens: Partial<Record<FuzzCaller, string>> = {};
  const logged: unknown[] = [];
  const statuses = new Map<number, number>();
  const codes = new Map<string, number>();

  beforeAll(async () => {
    platform = await startTestPlatform({
      demoData: true,
      gateway: { port: 0, rateLimits: { enabled: false } },
      modules: { identity: { seedAdmin: ADMIN } },
    });
    const handle = platform.subgraphs.identity!;
    await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
    await register(platform, USER);
    await eventually(async () => {
      tokens.admin = (await signIn(platform, ADMIN.email, ADMIN.password)).accessToken;
      tokens.user = (await signIn(platform, USER.email, USER.password)).accessToken;
      const roles = await platform.graphql({ query: '{ roles(first: 1) { totalCount } }' }, bearer('admin'));
      expect(((await roles.json()) as { data?: unknown }).data).toBeTruthy();
    }, 15_000);
    for (const service of [platform.gateway, ...Object.values(platform.subgraphs)]) {
      for (const level of ['error', 'fatal'] as const) {
        jest.spyOn(service.logger, level).mockImplementation((...args: unknown[]) => {
          logged.push({ service: service.name, level, args });
        });
      }
    }
  }, 60_000);

  afterAll(async () => {
    jest.restoreAllMocks();
    await platform?.stop();
  });

  function bearer(caller: FuzzCaller): Record<string, string> {
    if (caller === 'garbage') return { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln' };
    if (caller === 'malformed') return { authorization: 'Basic Og==' };
    const token = tokens[caller];
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  async function send(request: FuzzRequest): Promise<Outcome> {
    const base = request.target === 'gateway' ? platform.gateway.url : platform.subgraphs[request.target]!.url;
    try {
      const response = await fetch(base + request.search, {
        method: request.method,
        headers: { ...request.headers, ...bearer(request.caller) },
        body: request.body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      return { request, status: response.status, body: await response.text() };
    } catch (error) {
      return { request, failure: String((error as Error).cause ?? error) };
    }
  }

  /** Why an answer is a server failure, or undefined when it is a client error or a result. */
  function problem(outcome: Outcome): string | undefined {
    if (outcome.failure) return `no answer: ${outcome.failure}`;
    statuses.set(outcome.status!, (statuses.get(outcome.status!) ?? 0) + 1);
    if (outcome.status! >= 500) return `HTTP ${outcome.status}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(outcome.body!);
    } catch {
      // Not JSON: the sandbox page for a browser's GET, or a 405's empty body.
      return undefined;
    }
    for (const body of Array.isArray(parsed) ? parsed : [parsed]) {
      for (const error of (body as { errors?: Array<{ extensions?: { code?: string } }> } | null)?.errors ?? []) {
        const code = String(error.extensions?.code);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (code === 'INTERNAL_SERVER_ERROR' || code === 'undefined') return `error code ${code}`;
      }
    }
    return undefined;
  }

  const describeOutcome = (outcome: Outcome, why: string): string =>
    [
      `${why} for ${outcome.request.method} ${outcome.request.target}${outcome.request.search.slice(0, 2000)} as ${outcome.request.caller}`,
      `headers: ${JSON.stringify(outcome.request.headers)}`,
      `body: ${outcome.request.body?.slice(0, 4000)}`,
      `answer: ${outcome.status} ${outcome.body?.slice(0, 2000) ?? ''}`,
    ].join('\n');

  // About 75 s for 10,000 requests on an idle machine, on either database; the time limit leaves
  // room for a CI machine whose other worker runs a suite beside this one.
  it(`answers ${RUNS} fuzzed requests without a server error`, async () => {
    // Each target gets operations of its own schema: the supergraph's, or a subgraph's (with `_entities`).
    const seeds = seedOperations();
    const operationsOf = (schema: GraphQLSchema, valid: string[]): fc.Arbitrary<FuzzOperation> =>
      operationArbs(schema, valid, schemaNames(schema)).operationArb;
    const operations: Record<FuzzTarget, fc.Arbitrary<FuzzOperation>> = {
      gateway: operationsOf(supergraphSchema(), seeds),
      blog: operationsOf(subgraphSchema('blog'), validFor(subgraphSchema('blog'), seeds)),
      identity: operationsOf(subgraphSchema('identity'), validFor(subgraphSchema('identity'), seeds)),
      authz: operationsOf(subgraphSchema('authz'), validFor(subgraphSchema('authz'), seeds)),
      audit: operationsOf(subgraphSchema('audit'), validFor(subgraphSchema('audit'), seeds)),
    };
    const batchArb = fc.array(requestArb(operations), { minLength: CONCURRENCY, maxLength: CONCURRENCY });
    await fc.assert(
      fc.asyncProperty(batchArb, async (batch) => {
        const outcomes = await Promise.all(batch.map(send));
        for (const outcome of outcomes) {
          const why = problem(outcome);
          if (why) throw new Error(describeOutcome(outcome, why));
        }
        if (logged.length > 0)
          throw new Error(`logged as unexpected: ${JSON.stringify(logged.splice(0)).slice(0, 4000)}`);
      }),
      { numRuns: Math.ceil(RUNS / CONCURRENCY), seed: SEED, endOnFailure: true },
    );
    // What was asked of the platform, for the record (and to see the fuzzer reached past validation).
    console.log(
      `fuzz: ${Math.ceil(RUNS / CONCURRENCY) * CONCURRENCY} requests; statuses ${JSON.stringify(Object.fromEntries(statuses))}; codes ${JSON.stringify(Object.fromEntries(codes))}`,
    );
    expect(statuses.get(200) ?? 0).toBeGreaterThan(RUNS / 20);
  }, 300_000);

  it('still answers a normal query through the gateway and at every subgraph', async () => {
    const response = await platform.graphql({
      query: '{ posts(first: 1) { totalCount edges { node { id author { id } } } } }',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data?: { posts: { totalCount: number } }; errors?: unknown };
    expect(body.errors).toBeUndefined();
    expect(body.data!.posts.totalCount).toBeGreaterThan(0);
    for (const handle of Object.values(platform.subgraphs)) {
      expect((await fetch(`${handle.baseUrl}/healthz`)).status).toBe(200);
    }
  });
});
