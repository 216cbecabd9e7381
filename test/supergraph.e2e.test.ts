import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEMO_USERS } from '@platform/identity/demo';
import { startGateway } from '@platform/gateway';
import { MODULES, startTestPlatform, type TestPlatform } from './helpers.js';

type Body = {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string; permission?: string } }>;
};

describe('supergraph through the gateway', () => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({ demoData: true });
  }, 60_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it('joins posts from blog with their authors from identity', async () => {
    const response = await platform.graphql({
      query: '{ posts(first: 5) { totalCount edges { node { id title author { id displayName } } } } }',
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Body;
    expect(body.errors).toBeUndefined();
    const posts = body.data!.posts as {
      totalCount: number;
      edges: Array<{ node: { title: string; author: { id: string; displayName: string } } }>;
    };
    expect(posts.totalCount).toBe(5);
    expect(posts.edges).toHaveLength(5);
    const names = new Map<string, string>(DEMO_USERS.map((u) => [u.id, u.displayName]));
    for (const { node } of posts.edges) {
      expect(node.title.length).toBeGreaterThan(0);
      expect(node.author.displayName).toBe(names.get(node.author.id));
    }
  });

  it('pages with cursors without gaps or duplicates', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const response = await platform.graphql({
        query:
          'query($after: String) { posts(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
        variables: { after },
      });
      const body = (await response.json()) as Body;
      const posts = body.data!.posts as {
        edges: Array<{ node: { id: string } }>;
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
      seen.push(...posts.edges.map((e) => e.node.id));
      if (!posts.pageInfo.hasNextPage) break;
      after = posts.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  it('echoes X-Request-ID', async () => {
    const response = await platform.graphql({ query: '{ posts(first: 1) { totalCount } }' }, { 'x-request-id': 'abc' });
    expect(response.headers.get('x-request-id')).toBe('abc');
  });

  it.each([
    ['malformed GraphQL', { query: '{ posts(first: 1) { ' }, 400, 'GRAPHQL_PARSE_FAILED'],
    ['an unknown field', { query: '{ posts { nope } }' }, 400, 'GRAPHQL_VALIDATION_FAILED'],
    [
      'a bad variable type',
      { query: 'query($n: Int) { posts(first: $n) { totalCount } }', variables: { n: 'many' } },
      400,
      'BAD_USER_INPUT',
    ],
    // Nothing to answer (posts is non-null): a client error, 400 (test/client-errors.e2e.test.ts has the rest).
    ['an out-of-range argument', { query: '{ posts(first: 1000) { totalCount } }' }, 400, 'BAD_USER_INPUT'],
    ['a malformed cursor', { query: '{ posts(after: "%%%") { totalCount } }' }, 400, 'BAD_USER_INPUT'],
    // A partial answer ({ post: null }) stays 200, as GraphQL over HTTP asks when there is data.
    ['a malformed id', { query: '{ post(id: "nope") { id } }' }, 200, 'BAD_USER_INPUT'],
  ])('answers %s with a typed client error', async (_name, body, status, code) => {
    const response = await platform.graphql(body);
    expect(response.status).toBe(status);
    const json = (await response.json()) as Body;
    expect(json.errors?.[0]?.extensions?.code).toBe(code);
  });

  it('answers malformed JSON with 400', async () => {
    const response = await platform.graphql('{"query": ');
    expect(response.status).toBe(400);
    const json = (await response.json()) as Body;
    expect(json.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('answers an oversized body with 413 and keeps serving', async () => {
    const response = await platform.graphql({
      query: `{ posts(first: 1) { totalCount } } # ${'x'.repeat(2 * 1024 * 1024)}`,
    });
    expect(response.status).toBe(413);
    const after = await platform.graphql({ query: '{ posts(first: 1) { totalCount } }' });
    expect(after.status).toBe(200);
  });

  it('refuses anonymous callers what the guest role does not grant, naming the permission', async () => {
    const response = await platform.graphql({ query: '{ roles { totalCount } }' });
    const json = (await response.json()) as Body;
    expect(json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(json.errors?.[0]?.extensions?.permission).toBe('authz.role.read');
  });

  it('refuses anonymous callers what needs a signed-in caller', async () => {
    const response = await platform.graphql({ query: '{ sessions { id } }' });
    const json = (await response.json()) as Body;
    expect(json.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('reports every subgraph in the gateway readiness', async () => {
    const response = await fetch(`${platform.gateway.baseUrl}/ready`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as { checks: Record<string, { ok: boolean }> };
    // Besides the subgraphs: identity's revocations, and Redis when configured.
    expect(
      Object.keys(report.checks)
        .filter((name) => name.startsWith('subgraph:'))
        .sort(),
    ).toEqual(MODULES.map((m) => `subgraph:${m.manifest.name}`).sort());
    expect(report.checks.revocations?.ok).toBe(true);
    expect(report.checks.jwks?.ok).toBe(true);
    // A subgraph names each dependency it can serve without (reported, not deciding readiness).
    const blog = (await (await fetch(`${platform.subgraphs.blog!.baseUrl}/ready`)).json()) as {
      checks: Record<string, { ok: boolean; critical?: boolean; latencyMs?: number }>;
    };
    for (const dependency of ['jwks', 'authz', 'revocations']) {
      expect({ dependency, check: blog.checks[dependency] }).toMatchObject({
        dependency,
        check: { ok: true, critical: false, latencyMs: expect.any(Number) },
      });
    }
    expect(blog.checks.database).toMatchObject({ ok: true, latencyMs: expect.any(Number) });
    expect(Object.keys(report.checks)).toEqual(
      expect.arrayContaining(['subgraph:audit', 'subgraph:authz', 'subgraph:blog', 'subgraph:identity']),
    );
    expect(Object.values(report.checks).every((c) => c.ok)).toBe(true);
  });

  it('stays ready with a subgraph down: only the fields it serves fail', async () => {
    const config = platform.subgraphs.blog!.runtime.platform;
    const services = Object.fromEntries(
      Object.entries(platform.subgraphs).map(([name, s]) => [name, { port: 0, url: s.url }]),
    );
    // blog has no live instance behind this gateway: nothing listens on port 1.
    services.blog = { port: 0, url: 'http://127.0.0.1:1/graphql' };
    const lonely = await startGateway({ config: { ...config, gateway: { ...config.gateway, port: 0 }, services } });
    try {
      const ready = await fetch(`${lonely.baseUrl}/ready`);
      const report = (await ready.json()) as {
        status: string;
        checks: Record<string, { ok: boolean; critical?: boolean }>;
      };
      expect(ready.status).toBe(200);
      expect(report.status).toBe('degraded');
      expect(report.checks['subgraph:blog']).toMatchObject({ ok: false, critical: false });
      expect(report.checks['subgraph:identity']).toMatchObject({ ok: true });
      const posts = (await (
        await fetch(lonely.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ posts(first: 1) { totalCount } }' }),
        })
      ).json()) as Body;
      expect(posts.errors?.length).toBeGreaterThan(0);
    } finally {
      await lonely.stop();
    }
  });

  it('serves healthz, ready and metrics on the gateway and every subgraph', async () => {
    const bases = [platform.gateway.baseUrl, ...Object.values(platform.subgraphs).map((s) => s.baseUrl)];
    expect(bases).toHaveLength(1 + MODULES.length);
    let reportingProcess = 0;
    for (const base of bases) {
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/ready`);
      expect(ready.status).toBe(200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('http_request_duration_seconds');
      if (metrics.includes('# TYPE process_cpu_user_seconds_total ')) reportingProcess++;
    }
    // One process: its own metrics are reported once, not once per service.
    expect(reportingProcess).toBe(1);
    const blogMetrics = await (await fetch(`${platform.subgraphs.blog!.baseUrl}/metrics`)).text();
    expect(blogMetrics).toMatch(/graphql_operations_total\{[^}]*outcome="success"/);
    expect(blogMetrics).toMatch(/db_query_duration_seconds_count\{[^}]*operation="select"/);
  });

  it('shows Apollo Sandbox to browsers on GET /graphql', async () => {
    const response = await fetch(platform.gateway.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/sandbox/i);
  });
});
