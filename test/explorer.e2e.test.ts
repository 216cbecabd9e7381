import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGateway, type GatewayHandle } from '@platform/gateway';
import type { PlatformConfig } from '@platform/kernel';
import { loadConfig } from '@platform/kernel/testing';

/**
 * The gateway's own explorer (GraphiQL, bundled by gateway/explorer/build.mjs) in each
 * `gateway.explorer` mode, through real gateways. No subgraph is started: the page, its assets
 * and the landing page are served before GraphQL. A checkout without the bundle builds it here
 * (the gateway's first-start path).
 */

const DIST = fileURLToPath(new URL('../gateway/explorer/dist/', import.meta.url));
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

type Mode = PlatformConfig['gateway']['explorer'];

const gateways = new Map<Mode, GatewayHandle>();
let dataDir: string;

function configFor(explorer: Mode): PlatformConfig {
  const test = loadConfig({ env: { PATH: process.env.PATH ?? '', PLATFORM_ENV: 'test' } });
  return { ...test, dataDir, gateway: { ...test.gateway, explorer } };
}

const gateway = (mode: Mode): GatewayHandle => gateways.get(mode)!;

/** The page's script, stylesheet and worker URLs, as the page and its manifest name them. */
function pageAssets(html: string): string[] {
  // data: URLs (the empty favicon) are not requests.
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)]
    .map((match) => match[1]!)
    .filter((url) => !url.startsWith('data:'));
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'platform-explorer-'));
  for (const mode of ['graphiql', 'sandbox', 'off'] as const) {
    gateways.set(mode, await startGateway({ config: configFor(mode), port: 0 }));
  }
}, 120_000);

afterAll(async () => {
  for (const handle of gateways.values()) await handle.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('/graphiql', () => {
  it('serves GraphiQL with a strict content security policy and no inline script', async () => {
    const response = await fetch(`${gateway('graphiql').baseUrl}/graphiql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy')!;
    const host = new URL(gateway('graphiql').baseUrl).host;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("worker-src 'self'");
    expect(csp).toContain(`connect-src 'self' ws://${host} wss://${host}`);
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
    const html = await response.text();
    expect(html).toContain('id="graphiql"');
    // Every <script> has a src (CSP would refuse an inline one anyway).
    expect(html.match(/<script\b[^>]*>/g)?.every((tag) => /\bsrc="/.test(tag))).toBe(true);
  }, 120_000);

  it('serves the page in sandbox mode too, so developers offline always have it', async () => {
    const response = await fetch(`${gateway('sandbox').baseUrl}/graphiql`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await response.text()).toContain('id="graphiql"');
  }, 120_000);

  it('serves every asset the page and Monaco load, from the gateway, cacheable for good', async () => {
    const base = gateway('graphiql').baseUrl;
    const html = await (await fetch(`${base}/graphiql`)).text();
    const manifest = JSON.parse(readFileSync(join(DIST, 'manifest.json'), 'utf8')) as {
      workers: Record<string, string>;
    };
    const assets = [...pageAssets(html), ...Object.values(manifest.workers)];
    expect(Object.keys(manifest.workers).sort()).toEqual(['editor', 'graphql', 'json']);
    expect(assets.length).toBeGreaterThanOrEqual(5);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/graphiql\/assets\/[\w.-]+$/);
      const response = await fetch(base + asset);
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      expect(response.headers.get('content-type')).toMatch(/^text\/(javascript|css)/);
      expect(response.headers.get('cache-control')).toContain('immutable');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
      await response.arrayBuffer();
    }
  });

  it('answers 404 for assets that are not in the bundle, and for paths out of it', async () => {
    const base = gateway('graphiql').baseUrl;
    for (const path of ['/graphiql/assets/nothing-here.js', '/graphiql/assets/..%2Findex.html', '/graphiql/other']) {
      expect({ path, status: (await fetch(base + path)).status }).toEqual({ path, status: 404 });
    }
  });

  it('is not served when the explorer is off', async () => {
    const response = await fetch(`${gateway('off').baseUrl}/graphiql`, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/json/);
  });
});

describe('GET /graphql from a browser', () => {
  it('is GraphiQL when the explorer is graphiql', async () => {
    const response = await fetch(gateway('graphiql').url, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await response.text();
    expect(html).toContain('id="graphiql"');
    expect(html).not.toMatch(/apollographql|embeddable-sandbox/i);
  });

  it('is Apollo Sandbox when the explorer is sandbox', async () => {
    const response = await fetch(gateway('sandbox').url, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toMatch(/embeddable-sandbox/);
    expect(html).not.toContain('id="graphiql"');
  });

  it('is no page at all when the explorer is off', async () => {
    const response = await fetch(gateway('off').url, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.headers.get('content-type')).not.toMatch(/html/);
    expect(await response.text()).not.toMatch(/<html|sandbox|graphiql/i);
  });

  it('still runs GraphQL GETs and POSTs (clients are not shown a page)', async () => {
    const { url } = gateway('graphiql');
    const get = await fetch(`${url}?query=${encodeURIComponent('{ __typename }')}`, {
      headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
    });
    expect(await get.json()).toEqual({ data: { __typename: 'Query' } });
    const post = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: BROWSER_ACCEPT },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await post.json()).toEqual({ data: { __typename: 'Query' } });
  });
});

/**
 * What in a stylesheet or script makes a browser fetch a URL: `url(…)` and `@import` in CSS;
 * static and dynamic imports, workers, `importScripts`, `fetch`, and `src`/`href` assignments in
 * JS. Strings that merely contain a URL (error messages, XML namespaces, JSON-schema ids) and
 * licence comments are not fetches.
 */
const FETCHING = [
  /url\(\s*["']?(https?:)?\/\/[^)]*\)/gi,
  /@import\s+["'](https?:)?\/\/[^"']*["']/gi,
  /\bimport\s*\(\s*["'`](https?:)?\/\/[^"'`]*["'`]/gi,
  /\bfrom\s*["'](https?:)?\/\/[^"']*["']/gi,
  /\bimportScripts\s*\(\s*["'`](https?:)?\/\/[^"'`]*/gi,
  /\bnew\s+(Shared)?Worker\s*\(\s*["'`](https?:)?\/\/[^"'`]*/gi,
  /\bfetch\s*\(\s*["'`](https?:)?\/\/[^"'`]*/gi,
  /\b(src|href)\s*=\s*["'`](https?:)?\/\/[^"'`]*/gi,
];

describe('the bundle', () => {
  it('fetches nothing from anywhere but the gateway', () => {
    const files = readdirSync(join(DIST, 'assets')).filter((name) => /\.(js|css)$/.test(name));
    expect(files.some((name) => name.startsWith('explorer-'))).toBe(true);
    const found: string[] = [];
    for (const name of [...files.map((file) => join('assets', file)), 'index.html']) {
      const text = readFileSync(join(DIST, name), 'utf8');
      for (const pattern of FETCHING) {
        for (const match of text.matchAll(pattern)) found.push(`${name}: ${match[0].slice(0, 120)}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('is caught by the scan when it does refer to another host (the scan is not blind)', () => {
    const samples = [
      '@font-face{src:url(https://fonts.gstatic.com/x.woff2)}',
      '@import "//cdn.example/x.css";',
      'import("https://esm.sh/monaco-editor")',
      'new Worker("https://cdn.example/w.js")',
      'a.src="https://cdn.example/x.js"',
    ];
    for (const sample of samples) {
      expect({ sample, caught: FETCHING.some((pattern) => new RegExp(pattern.source, 'i').test(sample)) }).toEqual({
        sample,
        caught: true,
      });
    }
  });
});
