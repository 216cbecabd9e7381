import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, freePort, PrivateRedis } from '@platform/kernel/testing';
import { graphqlAt, register, startTestPlatform, type TestPlatform } from './helpers.js';

/**
 * Redis killed under a running platform (a private redis-server, never the shared one): signed-in
 * work goes on, a session revoked meanwhile is refused everywhere within auth.revocationBoundSec,
 * /ready names Redis as down without taking the services out, and all of it recovers when Redis
 * returns. Runs on the embedded database and on PostgreSQL alike.
 */
const PASSWORD = 'degraded mode passphrase 2026';
const LOGIN = `mutation ($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken refreshToken }
}`;

let redis: PrivateRedis;
let platform: TestPlatform;

beforeAll(async () => {
  redis = new PrivateRedis(await freePort());
  await redis.start();
  // The production bound (config/test.yaml relaxes it for the other suites).
  platform = await startTestPlatform({ redis: { url: redis.url }, auth: { revocationBoundSec: 5 } });
  await register(platform, { email: 'degraded@example.com', password: PASSWORD, displayName: 'Degraded' });
}, 90_000);

afterAll(async () => {
  await platform?.stop();
  await redis?.stop();
});

/** Signs in with a bounded wait: a hang fails the test instead of passing slowly. */
async function login(): Promise<{ accessToken: string; refreshToken: string }> {
  const response = await fetch(platform.gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: LOGIN, variables: { email: 'degraded@example.com', password: PASSWORD } }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await response.json()) as {
    data?: { login: { accessToken: string; refreshToken: string } };
    errors?: unknown;
  };
  if (!body.data) throw new Error(`login failed: ${JSON.stringify(body.errors)}`);
  return body.data.login;
}

const ready = async (baseUrl: string) => {
  const response = await fetch(`${baseUrl}/ready`);
  return {
    status: response.status,
    body: (await response.json()) as { status: string; checks: Record<string, { ok: boolean }> },
  };
};

describe('with Redis frozen (connections open, no answers)', () => {
  it('signs in and answers within seconds, never waiting on Redis', async () => {
    redis.pause();
    try {
      for (let i = 0; i < 5; i++) await login();
      const posts = await graphqlAt(platform.gateway.url, '{ posts(first: 1) { totalCount } }');
      expect(posts.errors).toBeUndefined();
    } finally {
      redis.resume();
    }
  }, 60_000);
});

describe('with Redis down', () => {
  it('signs in, revokes a session everywhere within the bound, reports Redis down but stays ready, and recovers', async () => {
    const bound = platform.subgraphs.blog!.runtime.platform.auth.revocationBoundSec * 1000;
    const doomed = await login();
    await redis.stop();

    // Logins go on (rate limits and lockouts count in memory, events wait in the outbox).
    for (let i = 0; i < 5; i++) await login();

    const logout = await graphqlAt<{ logout: boolean }>(
      platform.gateway.url,
      'mutation ($token: String) { logout(refreshToken: $token) }',
      { token: doomed.refreshToken },
      doomed.accessToken,
    );
    expect(logout).toEqual({ data: { logout: true } });
    const revokedAt = Date.now();
    // The broadcast cannot travel without Redis: every subgraph learns it from identity's database.
    for (const [name, query] of [
      ['blog', '{ posts(first: 1) { totalCount } }'],
      ['identity', '{ me { id } }'],
    ] as const) {
      await eventually(async () => {
        const body = await graphqlAt(platform.subgraphs[name]!.url, query, {}, doomed.accessToken);
        expect({ name, code: body.errors?.[0]?.extensions?.code }).toEqual({ name, code: 'UNAUTHENTICATED' });
      }, bound + 2000);
    }
    expect(Date.now() - revokedAt).toBeLessThan(bound + 2000);

    for (const service of [platform.gateway, ...Object.values(platform.subgraphs)]) {
      await eventually(async () => {
        const report = await ready(service.baseUrl);
        expect({ service: service.name, http: report.status }).toEqual({ service: service.name, http: 200 });
        expect(report.body.status).toBe('degraded');
        expect(report.body.checks.redis?.ok).toBe(false);
      });
    }
    const metrics = await (await fetch(`${platform.subgraphs.blog!.baseUrl}/metrics`)).text();
    expect(metrics).toContain('dependency_up{dependency="redis",service="blog"} 0');

    await redis.start();
    for (const service of [platform.gateway, ...Object.values(platform.subgraphs)]) {
      await eventually(async () => {
        const report = await ready(service.baseUrl);
        expect(report.body.status).toBe('ready');
        expect(report.body.checks.redis?.ok).toBe(true);
      }, 20_000);
    }
    // The revoked token stays refused, a fresh one works.
    const fresh = await login();
    expect((await graphqlAt(platform.gateway.url, '{ me { id } }', {}, fresh.accessToken)).errors).toBeUndefined();
    const refused = await graphqlAt(platform.gateway.url, '{ me { id } }', {}, doomed.accessToken);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  }, 90_000);
});
