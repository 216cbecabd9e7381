import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** Test doubles of identity: real Ed25519 keys, real tokens, a real JWKS over HTTP. */

export const ISSUER = 'http://identity.test';
export const AUDIENCE = 'platform';

export interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function newKey(kid: string = randomUUID()): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

export interface SignOptions {
  /** Replace or add claims. */
  claims?: Record<string, unknown>;
  /** Claims to leave out. */
  omit?: string[];
  /** Replace or add header parameters (`kid: undefined` drops it). */
  header?: Record<string, unknown>;
}

/** The claims identity puts in an access token, valid for 15 minutes from now. */
export function accessClaims(overrides: Record<string, unknown> = {}, omit: string[] = []): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    sub: randomUUID(),
    sid: randomUUID(),
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now,
    exp: now + 900,
    jti: randomUUID(),
    ...overrides,
  };
  for (const name of omit) delete claims[name];
  return claims;
}

/** Signs like identity does (EdDSA with a `kid`), with optional deviations. */
export async function signToken(key: TestKey, options: SignOptions = {}): Promise<string> {
  const header = { alg: 'EdDSA', kid: key.kid, typ: 'JWT', ...options.header };
  return new SignJWT(accessClaims(options.claims, options.omit))
    .setProtectedHeader(header as { alg: string })
    .sign(key.privateKey);
}

export function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** identity's `/.well-known/jwks.json` on a real local port; counts fetches, can hang or go down. */
export class JwksServer {
  keys: JWK[];
  hits = 0;
  /** Accept connections but never answer (a hung identity). */
  hang = false;
  readonly #server: Server;
  #port = 0;

  private constructor(keys: JWK[]) {
    this.keys = keys;
    this.#server = createServer((req, res) => {
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      this.hits++;
      if (this.hang) return;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
    });
  }

  static async start(keys: JWK[]): Promise<JwksServer> {
    const server = new JwksServer(keys);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    server.#port = (server.#server.address() as AddressInfo).port;
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}/.well-known/jwks.json`;
  }

  /** Listens again on the same port (identity restarted). */
  async resume(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(this.#port, '127.0.0.1', resolve));
  }

  /** Stops listening and drops every connection: later fetches are refused. */
  async stop(): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}
