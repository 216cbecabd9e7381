import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import WebSocket from 'ws';
import { eventually } from '@platform/kernel/testing';
import { CLIENT_ADDRESS_HEADER } from '@platform/kernel/gateway';
import { startGateway, type GatewayHandle } from '@platform/gateway';
import { graphqlAt, register, signIn, startTestPlatform, type GraphQLBody, type TestPlatform } from './helpers.js';

/**
 * The attacks of issue 17, tried as a hostile guest would, each refused cheaply: operations too
 * big for any client (before a subgraph is called, on HTTP, WebSocket and at a subgraph reached
 * directly), floods of requests and sockets, and forged client addresses.
 */

/** Three nested 100-post pages: 10^6 posts once one author has 100. */
const MILLION = `{ posts(first:100){ edges{ node{ author{ posts(first:100){ edges{ node{
  author { posts(first:100){ edges { node { id title } } } } } } } } } } } }`;
/** Two nested 100-post pages: shallow enough for the depth limit, 30,000 posts by cost. */
const TEN_THOUSANDS = `{ posts(first:100){ edges{ node{ author{ posts(first:100){ edges{ node{ id title } } } } } } } }`;
const ALIASES = `{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: posts(first:1){totalCount}`).join(' ')} }`;

const PASSWORD = 'edge suite passphrase, long enough';

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLBody };
}

/** Requests a subgraph has served on /graphql, from its own metrics. */
async function graphqlRequests(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('http_request_duration_seconds_count{') && line.includes('route="/graphql"'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

/** A raw graphql-transport-ws socket: the frames the gateway writes, or how it refused the upgrade. */
function openSocket(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers });
  const frames: Array<{ id?: string; type: string; payload?: unknown }> = [];
  ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString()) as (typeof frames)[number]));
  const opened = new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(0));
  });
  return { ws, frames, opened };
}

async function initialised(url: string, headers: Record<string, string> = {}) {
  const socket = openSocket(url, headers);
  expect(await socket.opened).toBe(101);
  socket.ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  await eventually(async () => expect(socket.frames.map((f) => f.type)).toContain('connection_ack'));
  return socket;
}

const sockets: WebSocket[] = [];
afterEach(() => sockets.splice(0).forEach((ws) => ws.terminate()));

describe('operation limits', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform();
  }, 90_000);
  afterAll(async () => {
    await platform?.stop();
  });

  it.each([
    ['the 10^6-post query', MILLION, { limit: 'depth', max: 10, measured: 12 }],
    ['two nested 100-post pages', TEN_THOUSANDS, { limit: 'cost', max: 10_000 }],
    ['10,000 aliases', ALIASES, { limit: 'tokens', max: 2000, measured: 2001 }],
  ])('refuses %s with 400 QUERY_TOO_COMPLEX before any subgraph is called', async (_name, query, expected) => {
    const blog = platform.subgraphs.blog!.baseUrl;
    const before = await graphqlRequests(blog);
    const { status, body } = await post(platform.gateway.url, { query });
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', ...expected });
    expect(await graphqlRequests(blog)).toBe(before);
  });

  it('counts refusals by reason for operators', async () => {
    const metrics = await (await fetch(`${platform.gateway.baseUrl}/metrics`)).text();
    for (const reason of ['depth', 'cost', 'tokens']) {
      expect(metrics).toMatch(new RegExp(`graphql_requests_refused_total\\{[^}]*reason="${reason}"[^}]*\\} [1-9]`));
    }
  });

  it('applies the same limits at a subgraph reached directly', async () => {
    const { status, body } = await post(platform.subgraphs.blog!.url, { query: MILLION });
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'depth' });
  });

  it('counts page sizes sent as variables', async () => {
    const query = `query ($n: Int) { posts(first: $n) { edges { node { author { posts(first: $n) { totalCount } } } } } }`;
    expect((await post(platform.gateway.url, { query, variables: { n: 5 } })).status).toBe(200);
    const refused = await post(platform.gateway.url, { query, variables: { n: 100 } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors![0]!.extensions).toMatchObject({ limit: 'cost' });
  });

  it('refuses the same operations over graphql-ws with an error message, and the socket goes on', async () => {
    const socket = await initialised(platform.gateway.url);
    sockets.push(socket.ws);
    socket.ws.send(JSON.stringify({ id: 'big', type: 'subscribe', payload: { query: MILLION } }));
    socket.ws.send(JSON.stringify({ id: 'aliases', type: 'subscribe', payload: { query: ALIASES } }));
    await eventually(async () => expect(socket.frames.filter((f) => f.type === 'error')).toHaveLength(2));
    const errors = Object.fromEntries(socket.frames.filter((f) => f.type === 'error').map((f) => [f.id, f.payload]));
    expect(errors.big).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'QUERY_TOO_COMPLEX', limit: 'depth' }) }),
    ]);
    expect(errors.aliases).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ limit: 'tokens' }) }),
    ]);
    socket.ws.send(
      JSON.stringify({ id: 'fine', type: 'subscribe', payload: { query: '{ posts(first: 1) { totalCount } }' } }),
    );
    await eventually(async () => expect(socket.frames.find((f) => f.id === 'fine' && f.type === 'next')).toBeDefined());
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('client addresses', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform();
    await register(platform, { email: 'addressed@example.com', password: PASSWORD, displayName: 'Addressed' });
  }, 90_000);
  afterAll(async () => {
    await platform?.stop();
  });

  const sessionIps = async (token: string): Promise<string[]> => {
    const body = await graphqlAt<{ sessions: Array<{ ip: string }> }>(
      platform.gateway.url,
      '{ sessions { ip } }',
      {},
      token,
    );
    return body.data!.sessions.map((s) => s.ip);
  };

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    const { status, body } = await post(
      platform.gateway.url,
      { query: `mutation { login(email: "addressed@example.com", password: "${PASSWORD}") { accessToken } }` },
      { 'x-forwarded-for': '198.51.100.66' },
    );
    expect(status).toBe(200);
    const token = (body.data as { login: { accessToken: string } }).login.accessToken;
    const ips = await sessionIps(token);
    expect(ips).not.toContain('198.51.100.66');
    expect(ips.every((ip) => /127\.0\.0\.1|::1/.test(ip))).toBe(true);
  });

  it('ignores a forged gateway signature, through the gateway and at the subgraph', async () => {
    const forged = { [CLIENT_ADDRESS_HEADER]: `198.51.100.77;${Date.now()};AAAA` };
    const login = `mutation { login(email: "addressed@example.com", password: "${PASSWORD}") { accessToken } }`;
    for (const url of [platform.gateway.url, platform.subgraphs.identity!.url]) {
      const { body } = await post(url, { query: login }, forged);
      const token = (body.data as { login: { accessToken: string } }).login.accessToken;
      expect(await sessionIps(token)).not.toContain('198.51.100.77');
    }
  });
});

describe('rate limits', () => {
  let platform: TestPlatform;
  let second: GatewayHandle | undefined;
  const ANONYMOUS = 30;

  beforeAll(async () => {
    platform = await startTestPlatform({
      gateway: {
        port: 0,
        rateLimits: {
          enabled: true,
          anonymous: { points: ANONYMOUS, durationSec: 60 },
          signedIn: { points: 1000, durationSec: 60 },
          // One address stands for the many an attacker would use: only the per-email budgets bind.
          fields: {
            'Mutation.register': { perAddress: { points: 100, durationSec: 3600 } },
            'Mutation.login': { perAddress: { points: 100, durationSec: 60 } },
          },
        },
      },
    });
  }, 90_000);
  afterAll(async () => {
    await second?.stop();
    await platform?.stop();
  });

  it('caps the mail one target gets, whatever the address: register and password resets per email', async () => {
    const victim = 'victim@example.com';
    const registerOnce = () =>
      post(platform.gateway.url, {
        query: 'mutation ($input: RegisterInput!) { register(input: $input) { id } }',
        variables: { input: { email: victim, password: PASSWORD } },
      });
    // The default per-email budget: 3 an hour (the first registers, the next two mail the owner).
    for (let i = 0; i < 3; i++) expect((await registerOnce()).status).toBe(200);
    const refused = await registerOnce();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });

    const reset = () =>
      post(platform.gateway.url, { query: `mutation { requestPasswordReset(email: "${victim.toUpperCase()}") }` });
    for (let i = 0; i < 3; i++) expect((await reset()).status).toBe(200);
    expect((await reset()).status).toBe(429);
  });

  it('counts a signed-in caller per user, apart from its address', async () => {
    await register(platform, { email: 'counted@example.com', password: PASSWORD });
    const { accessToken } = await signIn(platform, 'counted@example.com', PASSWORD);
    const { headers } = await post(
      platform.gateway.url,
      { query: '{ me { id } }' },
      { authorization: `Bearer ${accessToken}` },
    );
    expect(headers.get('ratelimit-limit')).toBe('1000');
    expect(headers.get('x-ratelimit-limit')).toBe('1000');
  });

  it('answers every request with RateLimit headers, then 429 + Retry-After once a guest used its budget', async () => {
    let last: Awaited<ReturnType<typeof post>> | undefined;
    const remaining: number[] = [];
    for (let i = 0; i <= ANONYMOUS; i++) {
      last = await post(platform.gateway.url, { query: '{ posts(first: 1) { totalCount } }' });
      if (last.status !== 200) break;
      expect(last.headers.get('ratelimit-limit')).toBe(String(ANONYMOUS));
      expect(Number(last.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
      remaining.push(Number(last.headers.get('ratelimit-remaining')));
    }
    expect(remaining.length).toBeGreaterThan(0);
    expect(remaining).toEqual([...remaining].sort((a, b) => b - a));
    expect(last!.status).toBe(429);
    expect(last!.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(last!.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    // Nothing was parsed or sent on: refusals cost no subgraph call.
    const blog = platform.subgraphs.blog!.baseUrl;
    const before = await graphqlRequests(blog);
    expect((await post(platform.gateway.url, { query: '{ posts(first: 1) { totalCount } }' })).status).toBe(429);
    expect(await graphqlRequests(blog)).toBe(before);
  });

  it('counts a WebSocket upgrade like a request: refused with 429 once the address used its budget', async () => {
    const socket = openSocket(platform.gateway.url);
    sockets.push(socket.ws);
    expect(await socket.opened).toBe(429);
  });

  it('shares the counters between gateway instances when Redis is configured', async () => {
    const config = platform.subgraphs.blog!.runtime.platform;
    second = await startGateway({
      config: {
        ...config,
        gateway: { ...config.gateway, port: 0 },
        services: Object.fromEntries(
          Object.entries(platform.subgraphs).map(([name, s]) => [name, { port: 0, url: s.url }]),
        ),
      },
    });
    const { status } = await post(second.url, { query: '{ posts(first: 1) { totalCount } }' });
    // The first gateway used this address's budget: with Redis the second knows; without, it counts alone.
    expect(status).toBe(config.redis.url ? 429 : 200);
  });
});

describe('sockets', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({
      http: { cors: { origins: ['http://app.example'] } },
      gateway: { port: 0, subscriptions: { maxConnectionsPerAddress: 3, maxSubscriptionsPerAddress: 4 } },
    });
  }, 90_000);
  afterAll(async () => {
    await platform?.stop();
  });

  it('refuses a page from a foreign origin, accepts an allowed one and clients that send none', async () => {
    const foreign = openSocket(platform.gateway.url, { origin: 'http://evil.example' });
    sockets.push(foreign.ws);
    expect(await foreign.opened).toBe(403);
    // The gateway's own pages (GraphiQL on /graphiql) are of its origin, whatever the list says.
    const own = new URL(platform.gateway.url).origin;
    for (const headers of [{ origin: 'http://app.example' }, { origin: own }, {}] as Array<Record<string, string>>) {
      const socket = await initialised(platform.gateway.url, headers);
      sockets.push(socket.ws);
    }
  });

  it('caps the sockets one address holds, counting those never initialised', async () => {
    await eventually(async () => expect((platform.gateway as GatewayHandle).subscriptionStats().sockets).toBe(0));
    const open = [openSocket(platform.gateway.url), openSocket(platform.gateway.url), openSocket(platform.gateway.url)];
    sockets.push(...open.map((s) => s.ws));
    for (const socket of open) expect(await socket.opened).toBe(101);
    const refused = openSocket(platform.gateway.url);
    sockets.push(refused.ws);
    expect(await refused.opened).toBe(429);
    // One closes: the address may open another.
    open[0]!.ws.close();
    await eventually(async () => {
      const again = openSocket(platform.gateway.url);
      sockets.push(again.ws);
      expect(await again.opened).toBe(101);
    });
  });

  it('closes a socket that keeps sending operations it is refused (4429 after 20)', async () => {
    await eventually(async () => expect((platform.gateway as GatewayHandle).subscriptionStats().sockets).toBe(0));
    const socket = await initialised(platform.gateway.url);
    sockets.push(socket.ws);
    const closed = new Promise<number>((resolve) => socket.ws.once('close', (code) => resolve(code)));
    for (let i = 0; i < 25; i++) {
      socket.ws.send(JSON.stringify({ id: `big-${i}`, type: 'subscribe', payload: { query: MILLION } }));
    }
    expect(await closed).toBe(4429);
    expect(socket.frames.filter((f) => f.type === 'error').length).toBeGreaterThan(0);
  });

  it('caps the operations one address runs over all its sockets', async () => {
    await eventually(async () => expect((platform.gateway as GatewayHandle).subscriptionStats().sockets).toBe(0));
    const a = await initialised(platform.gateway.url);
    const b = await initialised(platform.gateway.url);
    sockets.push(a.ws, b.ws);
    const subscribe = (socket: typeof a, id: string) =>
      socket.ws.send(
        JSON.stringify({ id, type: 'subscribe', payload: { query: 'subscription { postCreated { id } }' } }),
      );
    subscribe(a, '1');
    subscribe(a, '2');
    subscribe(b, '3');
    subscribe(b, '4');
    await eventually(async () => expect((platform.gateway as GatewayHandle).subscriptionStats().subscriptions).toBe(4));
    subscribe(b, '5');
    await eventually(async () => expect(b.frames.find((f) => f.id === '5')?.type).toBe('error'));
    expect(b.frames.find((f) => f.id === '5')!.payload).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'RATE_LIMITED', limit: 4 }) }),
    ]);
  });
});
