import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { AuthenticationError } from '../errors.js';
import {
  AUDIENCE,
  ISSUER,
  JwksServer,
  accessClaims,
  base64urlJson,
  decodePart,
  newKey,
  signToken,
  type TestKey,
} from './__tests__/token-fixtures.js';
import { InvalidTokenError, type TokenRejectionReason } from './invalid-token.error.js';
import { RevocationList } from './revocation-list.js';
import { TokenVerifier } from './token-verifier.js';

/** Runs `action`, expecting an InvalidTokenError, and returns it. */
async function rejection(action: () => Promise<unknown>): Promise<InvalidTokenError> {
  const error = await action().then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(InvalidTokenError);
  return error as InvalidTokenError;
}

describe('TokenVerifier', () => {
  let key: TestKey;
  let jwks: JwksServer;
  let verifier: TokenVerifier;

  beforeAll(async () => {
    key = await newKey();
    jwks = await JwksServer.start([key.publicJwk]);
    verifier = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { url: jwks.url } });
  });
  afterAll(() => jwks.stop());

  it('accepts a token identity signed and returns the user, session and expiry', async () => {
    const sub = randomUUID();
    const sid = randomUUID();
    const token = await signToken(key, { claims: { sub, sid } });
    const exp = decodePart(token.split('.')[1]!).exp as number;
    await expect(verifier.verify(token)).resolves.toEqual({ id: sub, sessionId: sid, expiresAt: exp * 1000 });
  });

  it('accepts a token that expired within the clock tolerance', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(key, { claims: { iat: now - 900, exp: now - 2 } });
    await expect(verifier.verify(token)).resolves.toMatchObject({ expiresAt: (now - 2) * 1000 });
  });

  const now = (): number => Math.floor(Date.now() / 1000);
  const cases: Array<[string, TokenRejectionReason, (key: TestKey) => Promise<string>]> = [
    ['expired', 'expired', (k) => signToken(k, { claims: { iat: now() - 1000, exp: now() - 100 } })],
    [
      'tampered payload',
      'bad-signature',
      async (k) => {
        const [header, payload, signature] = (await signToken(k)).split('.');
        const forged = base64urlJson({ ...decodePart(payload!), sub: randomUUID() });
        return [header, forged, signature].join('.');
      },
    ],
    [
      'tampered signature',
      'bad-signature',
      async (k) => {
        const [header, payload, signature] = (await signToken(k)).split('.');
        const flipped = (signature![0] === 'A' ? 'B' : 'A') + signature!.slice(1);
        return [header, payload, flipped].join('.');
      },
    ],
    ['wrong issuer', 'wrong-issuer', (k) => signToken(k, { claims: { iss: 'http://evil.test' } })],
    ['wrong audience', 'wrong-audience', (k) => signToken(k, { claims: { aud: 'another-api' } })],
    ['missing sid', 'invalid-claims', (k) => signToken(k, { omit: ['sid'] })],
    ['missing sub', 'invalid-claims', (k) => signToken(k, { omit: ['sub'] })],
    ['missing iat', 'invalid-claims', (k) => signToken(k, { omit: ['iat'] })],
    ['missing exp', 'invalid-claims', (k) => signToken(k, { omit: ['exp'] })],
    ['sub not a uuid', 'invalid-claims', (k) => signToken(k, { claims: { sub: 'admin' } })],
    ['sid not a uuid', 'invalid-claims', (k) => signToken(k, { claims: { sid: 42 } })],
    ['org not a uuid', 'invalid-claims', (k) => signToken(k, { claims: { org: 'acme' } })],
    ['iat not a number', 'invalid-claims', (k) => signToken(k, { claims: { iat: 'yesterday' } })],
    ['exp not a number', 'invalid-claims', (k) => signToken(k, { claims: { exp: 'tomorrow' } })],
    ['iat in the future', 'invalid-claims', (k) => signToken(k, { claims: { iat: now() + 600 } })],
    ['no kid', 'malformed', (k) => signToken(k, { header: { kid: undefined } })],
    [
      'alg none (unsecured JWT)',
      'algorithm-not-allowed',
      async (k) => `${base64urlJson({ alg: 'none', kid: k.kid, typ: 'JWT' })}.${base64urlJson(accessClaims())}.`,
    ],
    [
      'HS256 with the public JWK as the HMAC secret',
      'algorithm-not-allowed',
      (k) =>
        new SignJWT(accessClaims())
          .setProtectedHeader({ alg: 'HS256', kid: k.kid })
          .sign(new TextEncoder().encode(JSON.stringify(k.publicJwk))),
    ],
    [
      'HS256 with the raw public key bytes as the HMAC secret',
      'algorithm-not-allowed',
      (k) =>
        new SignJWT(accessClaims())
          .setProtectedHeader({ alg: 'HS256', kid: k.kid })
          .sign(Buffer.from(k.publicJwk.x!, 'base64url')),
    ],
    ['unknown kid', 'unknown-key', async () => signToken(await newKey('never-published'))],
    ['garbage', 'malformed', async () => 'not.a.jwt'],
    ['oversized', 'malformed', async () => 'a'.repeat(10_000)],
  ];

  it.each(cases)('rejects %s as %s, with a generic message', async (_name, reason, build) => {
    const error = await rejection(async () => verifier.verify(await build(key)));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.reason).toBe(reason);
    // Nothing about the reason reaches the client: what it serialises to is all it sees.
    expect(error.toJSON()).toEqual({ message: 'Invalid or expired token', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('refuses to be configured with a shared-secret algorithm or none', () => {
    for (const algorithms of [['HS256'], ['EdDSA', 'none'], []]) {
      expect(
        () => new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, algorithms, keys: { url: jwks.url } }),
      ).toThrow(TypeError);
    }
  });

  describe('authenticate', () => {
    const request = (authorization?: string | string[]): { headers: IncomingHttpHeaders } => ({
      headers: authorization === undefined ? {} : { authorization: authorization as string },
    });

    it('is anonymous without an Authorization header', async () => {
      await expect(verifier.authenticate(request())).resolves.toBeUndefined();
    });

    it('returns the user of a valid Bearer token (scheme case-insensitive)', async () => {
      const sub = randomUUID();
      const sid = randomUUID();
      const token = await signToken(key, { claims: { sub, sid } });
      await expect(verifier.authenticate(request(`Bearer ${token}`))).resolves.toEqual({
        id: sub,
        sessionId: sid,
        token,
      });
      await expect(verifier.authenticate(request(`bearer ${token}`))).resolves.toEqual({
        id: sub,
        sessionId: sid,
        token,
      });
    });

    it("carries the token's active organization (`org`), lower-cased", async () => {
      const sub = randomUUID();
      const sid = randomUUID();
      const org = randomUUID();
      const token = await signToken(key, { claims: { sub, sid, org: org.toUpperCase() } });
      await expect(verifier.authenticate(request(`Bearer ${token}`))).resolves.toEqual({
        id: sub,
        sessionId: sid,
        token,
        organizationId: org,
      });
    });

    it.each([
      ['a Basic header', 'Basic dXNlcjpwYXNz', 'bad-scheme'],
      ['a bare token', 'eyJhbGciOiJFZERTQSJ9.e30.c2ln', 'bad-scheme'],
      ['Bearer without a token', 'Bearer ', 'bad-scheme'],
      ['an empty header', '', 'bad-scheme'],
      ['two tokens', 'Bearer a.b.c d.e.f', 'bad-scheme'],
      ['garbage after Bearer', 'Bearer garbage', 'malformed'],
    ])('throws AuthenticationError for %s', async (_name, header, reason) => {
      const error = await rejection(() => verifier.authenticate(request(header)));
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.reason).toBe(reason);
    });

    it('throws for an invalid token instead of treating the caller as anonymous', async () => {
      const token = await signToken(key, { claims: { aud: 'another-api' } });
      const error = await rejection(() => verifier.authenticate(request(`Bearer ${token}`)));
      expect(error.reason).toBe('wrong-audience');
    });
  });

  describe('with revocations', () => {
    const revocations = new RevocationList();
    let guarded: TokenVerifier;
    beforeAll(() => {
      guarded = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { url: jwks.url }, revocations });
    });

    it('refuses a token of a revoked session and keeps accepting the others', async () => {
      const sub = randomUUID();
      const revoked = await signToken(key, { claims: { sub } });
      const other = await signToken(key, { claims: { sub } });
      await expect(guarded.verify(revoked)).resolves.toBeDefined();
      revocations.revokeSession(decodePart(revoked.split('.')[1]!).sid as string, Date.now() + 60_000);
      expect((await rejection(() => guarded.verify(revoked))).reason).toBe('revoked');
      await expect(guarded.verify(other)).resolves.toMatchObject({ id: sub });
    });

    it('refuses tokens issued before a user revocation, not those issued after', async () => {
      const sub = randomUUID();
      const t = now();
      const before = await signToken(key, { claims: { sub, iat: t - 60 } });
      const after = await signToken(key, { claims: { sub, iat: t + 1 } });
      revocations.revokeUser(sub, Date.now() + 60_000, t * 1000);
      expect((await rejection(() => guarded.verify(before))).reason).toBe('revoked');
      await expect(guarded.verify(after)).resolves.toMatchObject({ id: sub });
    });
  });

  describe('with a local key set (identity itself)', () => {
    it('verifies against the keys the provider returns, following rotation without HTTP', async () => {
      const next = await newKey();
      let keys = [key.publicJwk];
      const local = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { local: () => ({ keys }) } });
      const hits = jwks.hits;
      await expect(local.verify(await signToken(key))).resolves.toBeDefined();
      expect((await rejection(async () => local.verify(await signToken(next)))).reason).toBe('unknown-key');
      keys = [key.publicJwk, next.publicJwk];
      await expect(local.verify(await signToken(next))).resolves.toBeDefined();
      expect(jwks.hits).toBe(hits);
    });

    it('turns a failing provider into keys-unavailable', async () => {
      const local = new TokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: {
          local: async () => {
            throw new Error('keys not loaded yet');
          },
        },
      });
      expect((await rejection(async () => local.verify(await signToken(key)))).reason).toBe('keys-unavailable');
    });
  });
  describe('verified-token cache', () => {
    /** A verifier over a local key set that counts how often it is asked for keys (one per signature check). */
    function counting(options: { cacheSize?: number; cacheMaxAgeMs?: number; revocations?: RevocationList } = {}) {
      const calls = { keys: 0 };
      const verifier = new TokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: {
          local: () => {
            calls.keys += 1;
            return { keys: [key.publicJwk] };
          },
        },
        ...options,
      });
      return { verifier, calls };
    }

    it('checks the signature of a token once and answers the same afterwards', async () => {
      const { verifier: cached, calls } = counting();
      const token = await signToken(key);
      const first = await cached.verify(token);
      const checks = calls.keys;
      await expect(cached.verify(token)).resolves.toEqual(first);
      await expect(cached.authenticate({ headers: { authorization: `Bearer ${token}` } })).resolves.toMatchObject({
        id: first.id,
        sessionId: first.sessionId,
      });
      expect(calls.keys).toBe(checks);
      expect(cached.cachedTokens).toBe(1);
    });

    it('refuses a remembered token once its session is revoked or its user deleted', async () => {
      const revocations = new RevocationList();
      const { verifier: cached } = counting({ revocations });
      const sub = randomUUID();
      const session = await signToken(key, { claims: { sub } });
      const user = await signToken(key, { claims: { iat: now() - 10 } });
      const { sessionId } = await cached.verify(session);
      const { id: userId } = await cached.verify(user);
      revocations.revokeSession(sessionId, Date.now() + 60_000);
      revocations.revokeUser(userId, Date.now() + 60_000, Date.now());
      expect((await rejection(() => cached.verify(session))).reason).toBe('revoked');
      expect((await rejection(() => cached.verify(user))).reason).toBe('revoked');
    });

    it('keeps at most cacheSize tokens, forgetting the least recently used', async () => {
      const { verifier: cached, calls } = counting({ cacheSize: 2 });
      const [a, b, c] = await Promise.all([signToken(key), signToken(key), signToken(key)]);
      await cached.verify(a);
      await cached.verify(b);
      await cached.verify(a); // a is now the most recently used
      await cached.verify(c); // evicts b
      const checks = calls.keys;
      await cached.verify(a);
      await cached.verify(c);
      expect(calls.keys).toBe(checks);
      await cached.verify(b);
      expect(calls.keys).toBe(checks + 1);
      expect(cached.cachedTokens).toBe(2);
    });

    it('never remembers refusals, tokens past their expiry, or anything when turned off', async () => {
      const { verifier: cached } = counting();
      const t = now();
      await cached.verify(await signToken(key, { claims: { iat: t - 900, exp: t - 2 } })); // within tolerance
      const forged = `${(await signToken(key)).slice(0, -4)}AAAA`;
      await rejection(() => cached.verify(forged));
      expect(cached.cachedTokens).toBe(0);

      const { verifier: off, calls } = counting({ cacheSize: 0 });
      const token = await signToken(key);
      await off.verify(token);
      await off.verify(token);
      expect(calls.keys).toBe(2);
      expect(off.cachedTokens).toBe(0);
    });
  });
});
