import { describe, expect, it } from '@jest/globals';
import { MISNAMED_DEFAULT_METRICS, ServiceMetrics } from './metrics.js';

describe('ServiceMetrics.operationLabel', () => {
  it.each([
    [undefined, 'anonymous'],
    [null, 'anonymous'],
    ['', 'anonymous'],
    ['GetPosts', 'GetPosts'],
    ['_private_1', '_private_1'],
    ['1stQuery', 'invalid'],
    ['get-posts', 'invalid'],
    ['a b', 'invalid'],
    ['x'.repeat(64), 'x'.repeat(64)],
    ['x'.repeat(65), 'invalid'],
  ])('labels %p as %p', (name, label) => {
    expect(new ServiceMetrics('t').operationLabel(name)).toBe(label);
  });

  it('keeps at most 200 distinct names, then reports "other"', () => {
    const metrics = new ServiceMetrics('t');
    for (let i = 0; i < 200; i++) expect(metrics.operationLabel(`Op${i}`)).toBe(`Op${i}`);
    expect(metrics.operationLabel('Op200')).toBe('other');
    expect(metrics.operationLabel('Op7')).toBe('Op7');
    expect(metrics.operationLabel(null)).toBe('anonymous');
  });
});

describe('ServiceMetrics.observeQuery', () => {
  it.each([
    ['select * from post', 'select'],
    ['  SELECT 1', 'select'],
    ['\n\tinsert into post values ($1)', 'insert'],
    ['UPDATE post SET title = $1', 'update'],
    ['delete from post', 'delete'],
    ['with x as (select 1) select * from x', 'with'],
    ['begin', 'begin'],
    ['commit', 'commit'],
    ['rollback', 'rollback'],
    ['create table x (id int)', 'other'],
    ['', 'other'],
    ['-- comment', 'other'],
  ])('labels %p as %p', async (sql, operation) => {
    const metrics = new ServiceMetrics('t');
    metrics.observeQuery(sql, 0.003);
    const { values } = await metrics.dbQueryDuration.get();
    const count = values.find((v) => v.metricName === 'db_query_duration_seconds_count');
    expect(count).toMatchObject({ value: 1, labels: { operation } });
  });
});

describe('ServiceMetrics.registry', () => {
  it('exposes HTTP, GraphQL, database and process metrics with the service label', async () => {
    const metrics = new ServiceMetrics('blog');
    metrics.claimProcessMetrics();
    metrics.httpDuration.observe({ method: 'GET', route: '/healthz', status: '200' }, 0.002);
    const text = await metrics.exposition();
    metrics.releaseProcessMetrics();
    for (const name of [
      'http_request_duration_seconds',
      'graphql_operations_total',
      'graphql_operation_duration_seconds',
      'db_query_duration_seconds',
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain(
      'http_request_duration_seconds_count{service="blog",method="GET",route="/healthz",status="200"} 1',
    );
  });

  it("reports the process's own metrics once per process: on the first service to claim them, then on the next when it stops", async () => {
    const services = ['identity', 'authz', 'blog'].map((name) => new ServiceMetrics(name));
    for (const service of services) service.claimProcessMetrics();
    const reporting = async (): Promise<string[]> => {
      const texts = await Promise.all(services.map((service) => service.exposition()));
      return services
        .filter((_, i) => texts[i]!.includes('# TYPE process_cpu_user_seconds_total '))
        .map((s) => s.service);
    };
    expect(await reporting()).toEqual(['identity']);
    expect(await services[0]!.exposition()).toMatch(/process_cpu_user_seconds_total\{service="identity"\} /);
    // Every service still reports its own metrics.
    expect(await services[1]!.exposition()).toContain('# TYPE http_request_duration_seconds ');
    services[0]!.releaseProcessMetrics();
    expect(await reporting()).toEqual([]);
    services[2]!.claimProcessMetrics();
    expect(await reporting()).toEqual(['blog']);
    expect(await services[2]!.exposition()).toMatch(/process_cpu_user_seconds_total\{service="blog"\} /);
    services[2]!.releaseProcessMetrics();
  });

  it('keeps each service in its own registry', async () => {
    const a = new ServiceMetrics('a');
    const b = new ServiceMetrics('b');
    a.httpDuration.observe({ method: 'GET', route: '/x', status: '200' }, 0.1);
    expect(await b.registry.metrics()).not.toContain('route="/x"');
  });
});

describe('ServiceMetrics names', () => {
  /** Each metric of an exposition as `[name, type]`, from its `# TYPE` lines. */
  const types = (text: string): Array<[string, string]> =>
    [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as [string, string]);

  it('leaves out the default gauges named like counters, keeping the labelled gauges they summed', async () => {
    const metrics = new ServiceMetrics('identity');
    metrics.claimProcessMetrics();
    const text = await metrics.exposition();
    metrics.releaseProcessMetrics();
    const names = types(text).map(([name]) => name);
    for (const name of MISNAMED_DEFAULT_METRICS) expect(names).not.toContain(name);
    expect(names).toEqual(expect.arrayContaining(['nodejs_active_handles', 'nodejs_active_requests']));
    expect(text).toMatch(/^nodejs_active_handles\{type="\w+",service="identity"\} \d+$/m);
  });

  it('names counters *_total and nothing else so, in snake_case with a HELP each (what promtool checks)', async () => {
    const metrics = new ServiceMetrics('blog');
    metrics.claimProcessMetrics();
    const text = await metrics.exposition();
    metrics.releaseProcessMetrics();
    const all = types(text);
    expect(all.length).toBeGreaterThan(20);
    for (const [name, type] of all) {
      expect({ name, ok: /^[a-z][a-z0-9_]*$/.test(name) }).toEqual({ name, ok: true });
      expect({ name, type, total: name.endsWith('_total') }).toEqual({ name, type, total: type === 'counter' });
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, 'm'));
    }
  });
});

describe('ServiceMetrics.countErrors', () => {
  const counts = async (metrics: ServiceMetrics): Promise<Record<string, number>> =>
    Object.fromEntries(
      (await metrics.graphqlErrors.get()).values.map((v) => [`${v.labels.operation_name}/${v.labels.code}`, v.value]),
    );

  it('counts each error of a response by operation name and code', async () => {
    const metrics = new ServiceMetrics('gateway');
    metrics.countErrors('Login', ['UNAUTHENTICATED']);
    metrics.countErrors('Login', ['UNAUTHENTICATED', 'BAD_USER_INPUT']);
    metrics.countErrors(null, [undefined, 'not a code', 42]);
    metrics.countErrors('Posts', []);
    expect(await counts(metrics)).toEqual({
      'Login/UNAUTHENTICATED': 2,
      'Login/BAD_USER_INPUT': 1,
      'anonymous/none': 1,
      'anonymous/invalid': 2,
    });
  });

  it('keeps at most 50 distinct codes, then reports "other"', async () => {
    const metrics = new ServiceMetrics('gateway');
    for (let i = 0; i < 50; i++) metrics.countErrors('Op', [`CODE_${i}`]);
    metrics.countErrors('Op', ['CODE_50', 'CODE_7']);
    const all = await counts(metrics);
    expect(all['Op/other']).toBe(1);
    expect(all['Op/CODE_7']).toBe(2);
    expect(all['Op/CODE_50']).toBeUndefined();
  });
});

describe('ServiceMetrics initial series', () => {
  it('starts every refusal reason and dependency at 0, so dashboards and alerts see them before the first', async () => {
    const text = await new ServiceMetrics('gateway').exposition();
    for (const reason of ['depth', 'aliases', 'rootFields', 'directives', 'tokens', 'cost', 'rate_limited']) {
      expect(text).toContain(`graphql_requests_refused_total{reason="${reason}",service="gateway"} 0`);
    }
    for (const dependency of ['redis', 'identity', 'authz']) {
      expect(text).toContain(`dependency_errors_total{dependency="${dependency}",service="gateway"} 0`);
    }
  });
});
