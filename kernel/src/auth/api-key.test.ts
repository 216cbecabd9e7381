import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { permissionCheck, restrictTo, StaticPermissions } from '../graphql/permissions.js';
import { AUDIENCE, ISSUER, JwksServer, newKey, signToken, type TestKey } from './__tests__/token-fixtures.js';
import { displayPrefix, isWellFormedApiKey, looksLikeApiKey, newApiKey } from './api-key-format.js';
import { InvalidTokenError } from './invalid-token.error.js';
import { TokenVerifier } from './token-verifier.js';

describe('API key format', () => {
  it('makes distinct prefixed keys whose checksum holds', () => {
    const keys = new Set(Array.from({ length: 50 }, () => newApiKey()));
    expect(keys.size).toBe(50);
    for (const key of keys) {
      expect(key).toMatch(/^plk_[0-9A-Za-z]{46}$/);
      expect(isWellFormedApiKey(key)).toBe(true);
      expect(looksLikeApiKey(key)).toBe(true);
      expect(displayPrefix(key)).toBe(key.slice(0, 12));
    }
  });

  it('refuses a key with one character changed, a wrong prefix or a wrong length', () => {
    const key = newApiKey();
    const flipped = key.slice(0, 10) + (key[10] === 'a' ? 'b' : 'a') + key.slice(11);
    expect(isWellFormedApiKey(flipped)).toBe(false);
    expect(isWellFormedApiKey(`plx_${key.slice(4)}`)).toBe(false);
    expect(isWellFormedApiKey(key.slice(0, -1))).toBe(false);
    expect(isWellFormedApiKey(`${key}0`)).toBe(false);
    expect(isWellFormedApiKey('')).toBe(false);
  });
});

describe('restricted callers (API keys)', () => {
  const owner = randomUUID();
  const resolver = new StaticPermissions({
    guest: ['blog.post.read'],
    byUser: { [owner]: ['blog.post.create', 'blog.post.delete'] },
  });

  it('hold only what both the key and its owner hold', async () => {
    const can = permissionCheck(resolver, {
      id: owner,
      restriction: ['blog.post.create', 'identity.user.read'],
      apiKeyId: randomUUID(),
    });
    await expect(can('blog.post.create')).resolves.toBe(true);
    await expect(can('blog.post.delete')).resolves.toBe(false);
    await expect(can('identity.user.read')).resolves.toBe(false);
    // Whatever an anonymous caller may do, a key may too.
    await expect(can('blog.post.read')).resolves.toBe(true);
  });

  it("never inherit an administrator's `all`", () => {
    const restricted = restrictTo({ all: true, permissions: new Set() }, { id: owner, restriction: ['a.b.c'] });
    expect(restricted.all).toBe(false);
    expect([...restricted.permissions]).toEqual(['a.b.c']);
  });

  it('leave unrestricted callers as they are', () => {
    const effective = { all: true, permissions: new Set<string>() };
    expect(restrictTo(effective, { id: owner })).toBe(effective);
  });
});

describe('TokenVerifier and API key tokens', () => {
  let key: TestKey;
  let jwks: JwksServer;
  let verifier: TokenVerifier;

  beforeAll(async () => {
    key = await newKey();
    jwks = await JwksServer.start([key.publicJwk]);
    verifier = new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, keys: { url: jwks.url } });
  });
  afterAll(() => jwks.stop());

  it('returns the key and its restriction from authenticate', async () => {
    const keyId = randomUUID();
    const token = await signToken(key, { claims: { sid: keyId, akid: keyId, perm: ['blog.post.create'] } });
    const user = await verifier.authenticate({ headers: { authorization: `Bearer ${token}` } });
    expect(user).toMatchObject({ apiKeyId: keyId, restriction: ['blog.post.create'], token });
  });

  it.each([
    ['perm without akid', { perm: ['a.b.c'] }],
    ['akid without perm', { akid: randomUUID() }],
    ['perm not a list', { perm: 'a.b.c', akid: randomUUID() }],
  ])('refuses a token with %s', async (_name, claims) => {
    const token = await signToken(key, { claims });
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(InvalidTokenError);
  });
});
