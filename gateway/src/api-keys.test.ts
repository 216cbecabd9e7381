import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Request, Response } from 'express';
import pino from 'pino';
import type { PlatformConfig, TokenVerifier } from '@platform/kernel/gateway';
import { newApiKey } from '@platform/kernel/contracts';
import { apiKeyEdge, apiKeyExchanger } from './api-keys.js';

/** identity's exchange route, as a real loopback server: what it was asked, and what it answers. */
let identity: Server;
let origin: string;
let asked: IncomingMessage[] = [];
let answer: { status: number; body: unknown } = { status: 200, body: {} };

beforeAll(async () => {
  identity = createServer((req, res) => {
    asked.push(req);
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => identity.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(identity.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => identity.close(() => resolve())));
beforeEach(() => {
  asked = [];
  answer = { status: 200, body: { accessToken: 'exchanged.jwt.token', expiresAt: Date.now() + 300_000 } };
});

/** What the middleware did with one request: passed it on (and with which headers) or answered. */
async function through(
  edge: ReturnType<typeof apiKeyEdge>,
  headers: Record<string, string>,
): Promise<{ passed: boolean; headers: Record<string, unknown>; status?: number; body?: unknown }> {
  const req = { headers: { ...headers } } as unknown as Request;
  return new Promise((resolve) => {
    let statusCode = 200;
    const res = {
      status(status: number) {
        statusCode = status;
        return res;
      },
      json(body: unknown) {
        resolve({ passed: false, headers: req.headers, status: statusCode, body });
        return res;
      },
    } as unknown as Response;
    edge(req, res, () => resolve({ passed: true, headers: req.headers }));
  });
}

function edgeWith(verify: () => Promise<unknown> = async () => ({})): ReturnType<typeof apiKeyEdge> {
  const config = {
    auth: { jwksUrl: `${origin}/.well-known/jwks.json`, tokenService: 'identity' },
  } as unknown as PlatformConfig;
  return apiKeyEdge(
    apiKeyExchanger({ config, verifier: { verify } as unknown as TokenVerifier, credential: 'service-credential' }),
    pino({ level: 'silent' }),
  );
}

const code = (body: unknown): unknown =>
  (body as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code;

describe('apiKeyEdge', () => {
  it('leaves requests without a key alone, access tokens included', async () => {
    const edge = edgeWith();
    expect(await through(edge, {})).toMatchObject({ passed: true });
    expect(await through(edge, { authorization: 'Bearer ey.access.token' })).toMatchObject({
      passed: true,
      headers: { authorization: 'Bearer ey.access.token' },
    });
    expect(asked).toHaveLength(0);
  });

  it('refuses a key whose checksum fails without asking identity', async () => {
    const key = newApiKey();
    const typo = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    const cases: Array<Record<string, string>> = [
      { 'x-api-key': typo },
      { authorization: `Bearer ${typo}` },
      { 'x-api-key': 'plk_short' },
    ];
    for (const headers of cases) {
      const result = await through(edgeWith(), headers);
      expect(result).toMatchObject({ passed: false, status: 401 });
      expect(code(result.body)).toBe('UNAUTHENTICATED');
    }
    expect(asked).toHaveLength(0);
  });

  it('trades a key for a token with the service credential, and forwards the token instead', async () => {
    const key = newApiKey();
    const result = await through(edgeWith(), { 'x-api-key': key });
    expect(result).toMatchObject({ passed: true, headers: { authorization: 'Bearer exchanged.jwt.token' } });
    expect(result.headers['x-api-key']).toBeUndefined();
    expect(asked).toHaveLength(1);
    expect(asked[0]!.method).toBe('POST');
    expect(asked[0]!.url).toBe('/internal/api-keys/exchange');
    expect(asked[0]!.headers['x-api-key']).toBe(key);
    expect(asked[0]!.headers['x-platform-service']).toBe('service-credential');
  });

  it('reuses an exchange while its token verifies, and trades again once it does not', async () => {
    let valid = true;
    const edge = edgeWith(async () => {
      if (!valid) throw new Error('revoked');
      return {};
    });
    const key = newApiKey();
    await through(edge, { authorization: `Bearer ${key}` });
    await through(edge, { authorization: `Bearer ${key}` });
    expect(asked).toHaveLength(1);
    valid = false;
    answer = { status: 401, body: { error: 'Invalid API key' } };
    const refused = await through(edge, { authorization: `Bearer ${key}` });
    expect(refused).toMatchObject({ passed: false, status: 401 });
    expect(code(refused.body)).toBe('UNAUTHENTICATED');
    expect(asked).toHaveLength(2);
  });

  it('refuses a key sent beside another credential', async () => {
    const result = await through(edgeWith(), { 'x-api-key': newApiKey(), authorization: 'Bearer ey.access.token' });
    expect(result).toMatchObject({ passed: false, status: 401 });
    expect(asked).toHaveLength(0);
  });

  it('answers UNAVAILABLE when identity fails', async () => {
    answer = { status: 500, body: {} };
    const result = await through(edgeWith(), { 'x-api-key': newApiKey() });
    expect(result).toMatchObject({ passed: false, status: 503 });
    expect(code(result.body)).toBe('UNAVAILABLE');
  });
});
