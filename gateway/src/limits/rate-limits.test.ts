import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { buildSchema, getOperationAST, parse, type GraphQLError } from 'graphql';
import { HttpService, Readiness, type TokenVerifier } from '@platform/kernel/gateway';
import { createLogger, ServiceMetrics, testConfig, type PlatformConfig } from '@platform/kernel/testing';
import { GatewayRateLimits } from './rate-limits.js';

const schema = buildSchema(`
  input RegisterInput { email: String!, password: String! }
  type Query { me: String, search(term: String!): [String!] }
  type Mutation {
    register(input: RegisterInput!): Boolean
    requestPasswordReset(email: String): Boolean
  }
`);

/** Tokens are `good:<user id>`; anything else does not verify (a stand-in for identity's key set). */
const verifier = {
  verify: async (token: string) => {
    if (!token.startsWith('good:')) throw new Error('invalid token');
    return { id: token.slice(5) };
  },
} as unknown as TokenVerifier;

const { config: base, cleanup } = testConfig();
const logger = createLogger({ log: { ...base.log, level: 'silent' } }, 'rate-limits-test');
afterAll(cleanup);

function limits(rateLimits: Partial<PlatformConfig['gateway']['rateLimits']> = {}): GatewayRateLimits {
  const config: PlatformConfig = {
    ...base,
    gateway: {
      ...base.gateway,
      rateLimits: {
        enabled: true,
        anonymous: { points: 2, durationSec: 60 },
        signedIn: { points: 3, durationSec: 60 },
        fields: {},
        ...rateLimits,
      },
    },
  };
  return new GatewayRateLimits({ config, verifier, logger });
}

/** Counts `source` (with `variables`) from `ip` against the root-field budgets. */
function countFields(
  rateLimits: GatewayRateLimits,
  source: string,
  variables?: Record<string, unknown>,
  ip?: string,
): Promise<GraphQLError | undefined> {
  const document = parse(source);
  return rateLimits.countFields(schema, document, getOperationAST(document)!, variables, ip);
}

describe('GatewayRateLimits.countCaller', () => {
  it('counts a signed-in caller per user and a guest per address, each against its own budget', async () => {
    const rateLimits = limits();
    // The same address: the user's budget (3) is not the address's (2).
    for (let i = 0; i < 3; i++) {
      expect(await rateLimits.countCaller({ userId: 'u1', ip: '198.51.100.1' })).toMatchObject({ refused: false });
    }
    expect(await rateLimits.countCaller({ userId: 'u1', ip: '198.51.100.1' })).toMatchObject({
      refused: true,
      remaining: 0,
      limit: 3,
    });
    expect(await rateLimits.countCaller({ ip: '198.51.100.1' })).toMatchObject({ refused: false, remaining: 1 });
    expect(await rateLimits.countCaller({ ip: '198.51.100.1' })).toMatchObject({ refused: false, remaining: 0 });
    expect(await rateLimits.countCaller({ ip: '198.51.100.1' })).toMatchObject({ refused: true, limit: 2 });
    // Another user, another address: budgets of their own.
    expect(await rateLimits.countCaller({ userId: 'u2', ip: '198.51.100.1' })).toMatchObject({ refused: false });
    expect(await rateLimits.countCaller({ ip: '198.51.100.2' })).toMatchObject({ refused: false });
  });

  it('counts nothing for a caller with neither user nor address, nor anything while disabled', async () => {
    expect(await limits().countCaller({})).toBeUndefined();
    const disabled = limits({ enabled: false });
    for (let i = 0; i < 5; i++) expect(await disabled.countCaller({ ip: '198.51.100.3' })).toBeUndefined();
  });
});

describe('GatewayRateLimits.countFields', () => {
  const register = 'mutation ($input: RegisterInput!) { register(input: $input) }';
  const registerFrom = (email: unknown) => ({ input: { email, password: 'pw' } });

  it('counts a field per value of its argument (a dotted path into an input), whatever the address', async () => {
    const rateLimits = limits({
      fields: { 'Mutation.register': { perArgument: { argument: 'input.email', points: 2, durationSec: 60 } } },
    });
    expect(await countFields(rateLimits, register, registerFrom('a@example.com'), '198.51.100.1')).toBeUndefined();
    expect(await countFields(rateLimits, register, registerFrom('a@example.com'), '198.51.100.2')).toBeUndefined();
    const refused = await countFields(rateLimits, register, registerFrom('a@example.com'), '198.51.100.3');
    expect(refused?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
    expect(refused?.message).toContain('Mutation.register for this email');
    // Another email has its budget untouched.
    expect(await countFields(rateLimits, register, registerFrom('b@example.com'), '198.51.100.3')).toBeUndefined();
  });

  it('leaves arguments that are absent, empty or refused by coercion to execution, uncounted', async () => {
    const rateLimits = limits({
      fields: {
        'Mutation.requestPasswordReset': { perArgument: { argument: 'email', points: 1, durationSec: 60 } },
        'Mutation.register': { perArgument: { argument: 'input.email', points: 1, durationSec: 60 } },
      },
    });
    for (let i = 0; i < 3; i++) {
      // No value, an empty one, variables that do not coerce, a required argument missing: nothing to
      // count an email against (execution refuses what is invalid before any resolver runs).
      expect(await countFields(rateLimits, 'mutation { requestPasswordReset }')).toBeUndefined();
      expect(await countFields(rateLimits, 'mutation { requestPasswordReset(email: "") }')).toBeUndefined();
      expect(await countFields(rateLimits, register, { input: { email: 'x@example.com' } })).toBeUndefined();
      expect(await countFields(rateLimits, 'mutation { register }')).toBeUndefined();
      expect(
        await countFields(rateLimits, 'mutation ($e: String) { requestPasswordReset(email: $e) }', { e: 7 }),
      ).toBeUndefined();
    }
    // The budget of 1 per email is whole: the first real value passes, the second is refused.
    expect(await countFields(rateLimits, 'mutation { requestPasswordReset(email: "c@example.com") }')).toBeUndefined();
    expect(await countFields(rateLimits, 'mutation { requestPasswordReset(email: "c@example.com") }')).toMatchObject({
      extensions: { code: 'RATE_LIMITED' },
    });
  });

  it('counts a field per address only when the address is known, and fields without budgets not at all', async () => {
    const rateLimits = limits({ fields: { 'Query.search': { perAddress: { points: 1, durationSec: 60 } } } });
    const search = '{ search(term: "x") me }';
    for (let i = 0; i < 3; i++) expect(await countFields(rateLimits, search, undefined, undefined)).toBeUndefined();
    for (let i = 0; i < 3; i++)
      expect(await countFields(rateLimits, '{ me }', undefined, '198.51.100.9')).toBeUndefined();
    expect(await countFields(rateLimits, search, undefined, '198.51.100.9')).toBeUndefined();
    const refused = await countFields(rateLimits, search, undefined, '198.51.100.9');
    expect(refused?.message).toContain('Query.search from this address');
    // An operation on a root type the schema does not have is left to validation.
    expect(await countFields(rateLimits, 'subscription { ticks }', undefined, '198.51.100.9')).toBeUndefined();
  });

  it('counts no field while disabled', async () => {
    const rateLimits = limits({
      enabled: false,
      fields: { 'Query.search': { perAddress: { points: 1, durationSec: 60 } } },
    });
    for (let i = 0; i < 3; i++)
      expect(await countFields(rateLimits, '{ search(term: "x") }', {}, '198.51.100.10')).toBeUndefined();
  });
});

describe('GatewayRateLimits.middleware', () => {
  let http: HttpService | undefined;
  afterEach(async () => {
    await http?.close();
    http = undefined;
  });

  /** The kernel's HTTP service with the middleware in front of a `/graphql` that always answers. */
  async function serve(rateLimits: GatewayRateLimits): Promise<string> {
    http = new HttpService({ config: base, logger, metrics: new ServiceMetrics('t'), readiness: new Readiness() });
    http.app.post('/graphql', rateLimits.middleware(), (_req, res) => {
      res.json({ data: { ok: true } });
    });
    http.finish();
    return `http://127.0.0.1:${await http.listen(0)}/graphql`;
  }

  const call = (url: string, authorization?: string) =>
    fetch(url, { method: 'POST', headers: authorization ? { authorization } : {} });

  it('counts a token that does not verify as a guest of its address, and refuses with 429 and Retry-After', async () => {
    const url = await serve(limits());
    const first = await call(url, 'Bearer forged');
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    // A valid token counts against the user's budget, not the address's.
    const user = await call(url, 'Bearer good:u1');
    expect(user.headers.get('ratelimit-limit')).toBe('3');
    expect((await call(url, 'Basic abc')).status).toBe(200);
    const refused = await call(url);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({
      errors: [{ extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) } }],
    });
  });

  it('passes every request on untouched while disabled', async () => {
    const url = await serve(limits({ enabled: false, anonymous: { points: 1, durationSec: 60 } }));
    for (let i = 0; i < 3; i++) {
      const response = await call(url);
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBeNull();
    }
  });
});
