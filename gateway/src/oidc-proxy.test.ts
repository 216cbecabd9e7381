import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { verifyClientAddress } from '@platform/kernel/gateway';
import { forwardOidc, OIDC_PATHS } from './oidc-proxy.js';

const SECRET = 'a service secret long enough to sign client addresses with';

/** A stand-in identity that records what reached it and answers like the provider would. */
let upstream: Server;
let gateway: Server;
let seen: { url?: string; method?: string; headers?: IncomingHttpHeaders; body?: string } = {};

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen = { url: req.url, method: req.method, headers: req.headers, body };
      res.writeHead(303, {
        location: '/oidc/interaction/abc',
        'set-cookie': ['_interaction=abc; path=/oidc/interaction/abc; httponly; samesite=lax'],
        'content-security-policy': "default-src 'none'",
        'cache-control': 'no-store',
        connection: 'close',
      });
      res.end();
    });
  });
  const identityUrl = await listen(upstream);
  const app = express();
  const oidc = forwardOidc(identityUrl, SECRET, pino({ level: 'silent' }));
  for (const path of OIDC_PATHS) app.use(path, oidc);
  gateway = createServer(app);
  await listen(gateway);
});

afterAll(async () => {
  await new Promise((resolve) => gateway.close(resolve));
  await new Promise((resolve) => upstream.close(resolve));
});

const gatewayUrl = () => `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;

describe('forwardOidc', () => {
  it('passes the protocol’s headers and body to identity, and its cookies and redirects back', async () => {
    const response = await fetch(`${gatewayUrl()}/oidc/token?x=1`, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        authorization: 'Basic Y2xpZW50OnNlY3JldA==',
        cookie: '_session=s1',
        'content-type': 'application/x-www-form-urlencoded',
        'accept-language': 'en',
        // A client cannot choose the URLs identity builds, nor its own address.
        'x-forwarded-host': 'attacker.example',
        'x-forwarded-proto': 'https',
        'x-platform-client': 'forged',
      },
      body: 'grant_type=authorization_code&code=c',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/oidc/interaction/abc');
    expect(response.headers.getSetCookie()).toEqual([
      '_interaction=abc; path=/oidc/interaction/abc; httponly; samesite=lax',
    ]);
    expect(response.headers.get('content-security-policy')).toBe("default-src 'none'");

    expect(seen).toMatchObject({
      url: '/oidc/token?x=1',
      method: 'POST',
      body: 'grant_type=authorization_code&code=c',
    });
    expect(seen.headers).toMatchObject({
      authorization: 'Basic Y2xpZW50OnNlY3JldA==',
      cookie: '_session=s1',
      'content-type': 'application/x-www-form-urlencoded',
      'accept-language': 'en',
    });
    expect(seen.headers!['x-forwarded-host']).toBeUndefined();
    expect(seen.headers!['x-forwarded-proto']).toBeUndefined();
    expect(verifyClientAddress(SECRET, seen.headers!['x-platform-client'])).toBe('127.0.0.1');
  });

  it('forwards discovery and the JWKS at the issuer’s root', async () => {
    for (const path of ['/.well-known/openid-configuration', '/.well-known/jwks.json']) {
      await fetch(`${gatewayUrl()}${path}`, { redirect: 'manual' });
      expect(seen).toMatchObject({ url: path, method: 'GET' });
    }
  });

  it('answers 502 when identity cannot be reached', async () => {
    const app = express();
    app.use('/oidc', forwardOidc('http://127.0.0.1:9', SECRET, pino({ level: 'silent' })));
    const server = createServer(app);
    const url = await listen(server);
    try {
      const response = await fetch(`${url}/oidc/auth`);
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'Bad gateway' });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
