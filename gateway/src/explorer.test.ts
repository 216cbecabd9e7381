import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { HttpService, Readiness, ServiceMetrics } from '@platform/kernel/gateway';
import { loadConfig } from '@platform/kernel/testing';
import { explorerContentSecurityPolicy, explorerRoutes, type ExplorerOptions } from './explorer.js';

/**
 * The explorer's routes when the bundle is missing, on a real HTTP service: built once (however
 * many browsers ask meanwhile), or, where it cannot be built, a 503 saying how to build it and one
 * warning in the log; the service starts either way.
 */

const dir = mkdtempSync(join(tmpdir(), 'explorer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const running: HttpService[] = [];
afterEach(async () => {
  for (const http of running.splice(0)) await http.close();
});

interface Served {
  base: string;
  warnings: string[];
}

async function serve(options: Omit<ExplorerOptions, 'logger'>): Promise<Served> {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        const entry = JSON.parse(line) as { level: number; msg: string };
        if (entry.level === 40) warnings.push(entry.msg);
      },
    },
  );
  const config = loadConfig({ env: { PATH: process.env.PATH ?? '', PLATFORM_ENV: 'test' } });
  const http = new HttpService({
    config,
    logger,
    metrics: new ServiceMetrics('explorer-test'),
    readiness: new Readiness(),
  });
  const routes = explorerRoutes({ ...options, logger })!;
  http.app.use('/graphiql', routes.page);
  http.app.get('/graphql', routes.landing);
  http.finish();
  running.push(http);
  const port = await http.listen(0);
  return { base: `http://127.0.0.1:${port}`, warnings };
}

describe('explorerRoutes without a bundle', () => {
  it('answers 503 with one line saying how to build it, and warns once, when it cannot be built', async () => {
    const { base, warnings } = await serve({
      mode: 'graphiql',
      distDir: join(dir, 'absent'),
      build: () => Promise.reject(new Error("Cannot find package 'esbuild'")),
    });
    for (const path of ['/graphiql', '/graphql', '/graphiql']) {
      const response = await fetch(base + path, { headers: { accept: 'text/html' } });
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(text.trim().split('\n')).toHaveLength(1);
      expect(text).toMatch(/GraphiQL is not built: run `npm run build`/);
    }
    expect(warnings).toEqual([expect.stringMatching(/^GraphiQL unavailable: GraphiQL is not built/)]);
  });

  it('builds it once however many browsers ask meanwhile, then serves it', async () => {
    const distDir = join(dir, 'built');
    let builds = 0;
    let finish!: () => void;
    const building = new Promise<void>((resolve) => (finish = resolve));
    const { base, warnings } = await serve({
      mode: 'graphiql',
      distDir,
      build: async () => {
        builds++;
        await building;
        mkdirSync(join(distDir, 'assets'), { recursive: true });
        writeFileSync(join(distDir, 'index.html'), '<div id="graphiql"></div>');
        writeFileSync(join(distDir, 'assets', 'explorer-ABC.js'), 'export {};');
      },
    });
    const pages = [1, 2, 3].map(() => fetch(`${base}/graphiql`));
    finish();
    for (const response of await Promise.all(pages)) {
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('id="graphiql"');
    }
    const asset = await fetch(`${base}/graphiql/assets/explorer-ABC.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(builds).toBe(1);
    expect(warnings).toEqual([]);
  });

  it('leaves GET /graphql to GraphQL when the explorer is sandbox, and for non-browser clients', async () => {
    const { base } = await serve({ mode: 'sandbox', distDir: join(dir, 'absent'), build: () => Promise.resolve() });
    expect((await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } })).status).toBe(404);
    const graphiql = await serve({ mode: 'graphiql', distDir: join(dir, 'absent'), build: () => Promise.resolve() });
    expect((await fetch(`${graphiql.base}/graphql`, { headers: { accept: 'application/json' } })).status).toBe(404);
  });

  it('is nothing at all when the explorer is off', () => {
    expect(explorerRoutes({ mode: 'off', logger: pino({ level: 'silent' }) })).toBeUndefined();
  });
});

describe('explorerContentSecurityPolicy', () => {
  it.each([
    ['127.0.0.1:4000', "connect-src 'self' ws://127.0.0.1:4000 wss://127.0.0.1:4000"],
    ['[::1]:4000', "connect-src 'self' ws://[::1]:4000 wss://[::1]:4000"],
    ['api.example.com', "connect-src 'self' ws://api.example.com wss://api.example.com"],
    // A Host header that could inject a directive is not echoed.
    ["evil; script-src 'unsafe-inline'", "connect-src 'self';"],
    [undefined, "connect-src 'self';"],
  ])('for Host %j allows %s', (host, expected) => {
    const policy = explorerContentSecurityPolicy(host);
    expect(policy).toContain(expected);
    expect(policy).toContain("script-src 'self';");
    expect(policy.match(/script-src/g)).toHaveLength(1);
  });
});
