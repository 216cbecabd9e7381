import { afterAll, describe, expect, it } from '@jest/globals';
import { loadConfig } from '../config/load.js';
import { Readiness } from '../health/health.js';
import { createLogger } from '../logging/logger.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import { CLIENT_ADDRESS_HEADER, signClientAddress } from './client-address.js';
import { currentRequest } from './request-context.js';
import { HttpService } from './server.js';

const SECRET = 'the deployment secret, 32 characters or more';
const started: HttpService[] = [];
afterAll(async () => {
  for (const http of started) await http.close();
});

/** A real HttpService answering with the client address it settled on. */
async function whoami(overrides: Record<string, unknown>, clientAddressSecret?: string) {
  const config = loadConfig({ env: { PLATFORM_ENV: 'test' }, overrides });
  const logger = createLogger({ log: { level: 'silent', pretty: false } }, 'trust-test');
  const http = new HttpService({
    config,
    logger,
    metrics: new ServiceMetrics('t'),
    readiness: new Readiness(),
    clientAddressSecret,
  });
  http.app.get('/whoami', (_req, res) => {
    res.json({ ip: currentRequest()?.ip });
  });
  http.finish();
  started.push(http);
  const url = `http://127.0.0.1:${await http.listen(0)}/whoami`;
  return async (headers: Record<string, string> = {}) =>
    ((await (await fetch(url, { headers })).json()) as { ip: string }).ip;
}

const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$/;

describe('client address', () => {
  it('is the peer by default, whatever X-Forwarded-For says', async () => {
    const ask = await whoami({});
    expect(await ask({ 'x-forwarded-for': '203.0.113.9' })).toMatch(LOOPBACK);
  });

  it("is X-Forwarded-For's client when the peer is a trusted proxy", async () => {
    const ask = await whoami({ http: { trustedProxies: ['loopback'] } });
    expect(await ask({ 'x-forwarded-for': '203.0.113.9' })).toBe('203.0.113.9');
    expect(await ask({ 'x-forwarded-for': '198.51.100.1, 203.0.113.9' })).toBe('203.0.113.9');
  });

  it('is not taken from a proxy outside the trusted ranges', async () => {
    const ask = await whoami({ http: { trustedProxies: ['10.0.0.0/8'] } });
    expect(await ask({ 'x-forwarded-for': '203.0.113.9' })).toMatch(LOOPBACK);
  });

  it("is the gateway's signed word behind the gateway, and only with a valid signature", async () => {
    const ask = await whoami({}, SECRET);
    expect(await ask({ [CLIENT_ADDRESS_HEADER]: signClientAddress(SECRET, '203.0.113.9') })).toBe('203.0.113.9');
    expect(
      await ask({ [CLIENT_ADDRESS_HEADER]: signClientAddress('someone else entirely, also 32+ chars', '203.0.113.9') }),
    ).toMatch(LOOPBACK);
    expect(await ask({ [CLIENT_ADDRESS_HEADER]: '203.0.113.9' })).toMatch(LOOPBACK);
  });

  it('refuses a trusted proxy list it cannot read, naming the key', () => {
    expect(() =>
      loadConfig({ env: { PLATFORM_ENV: 'test' }, overrides: { http: { trustedProxies: ['10.0.0.0/99'] } } }),
    ).toThrow(/http\.trustedProxies\.0/);
  });
});
