import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startGateway, type GatewayHandle } from '@platform/gateway';
import type { PlatformConfig } from '@platform/kernel';
import { loadConfig } from '@platform/kernel/testing';

/**
 * Browser apps on the usual development ports call the gateway in development: the gateway is
 * started with config/development.yaml as `npm start` loads it (only ports, data directory and log
 * level changed for the test) and answers a browser's preflight as the browser needs.
 */

/** The config of an environment as the loader reads it from config/*.yaml and the given variables. */
function configFor(envName: string, env: Record<string, string> = {}): Readonly<PlatformConfig> {
  return loadConfig({ env: { PATH: process.env.PATH ?? '', PLATFORM_ENV: envName, ...env } });
}

/** What a browser sends before a cross-origin POST with a bearer token and a JSON body. */
function preflight(url: string, origin: string): Promise<Response> {
  return fetch(url, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
  });
}

describe('CORS in development', () => {
  let gateway: GatewayHandle;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'platform-cors-'));
    const development = configFor('development');
    // No subgraph is started: a preflight is answered before GraphQL, and the gateway serves
    // the committed supergraph without asking them.
    gateway = await startGateway({
      config: { ...development, dataDir, log: { ...development.log, level: 'silent', pretty: false } },
      port: 0,
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(['http://localhost:5173', 'http://localhost:3000', 'http://127.0.0.1:4200', 'http://localhost:8080'])(
    'allows a preflight from %s with the bearer header',
    async (origin) => {
      const response = await preflight(gateway.url, origin);
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
      expect(response.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
      expect(response.headers.get('vary')).toMatch(/origin/i);
    },
  );

  it('answers an allowed origin on the request itself, exposing the request id', async () => {
    const response = await fetch(`${gateway.baseUrl}/healthz`, { headers: { origin: 'http://localhost:5173' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(response.headers.get('access-control-expose-headers')).toBe('X-Request-ID');
  });

  it.each(['http://evil.example', 'http://localhost:5174', 'https://localhost:5173'])(
    'gives %s no allow-origin header, so the browser refuses the call',
    async (origin) => {
      const response = await preflight(gateway.url, origin);
      // (the cors package still says allow-credentials: without allow-origin the browser refuses anyway)
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    },
  );
});

describe('CORS configuration', () => {
  it('allows no browser origin in production unless configured', () => {
    expect(configFor('production').http.cors.origins).toEqual([]);
  });

  it('takes the origins from PLATFORM_HTTP__CORS__ORIGINS as a YAML list, as the README shows', () => {
    const config = configFor('production', {
      PLATFORM_HTTP__CORS__ORIGINS: '[https://app.example.com, https://admin.example.com]',
    });
    expect(config.http.cors.origins).toEqual(['https://app.example.com', 'https://admin.example.com']);
  });
});
