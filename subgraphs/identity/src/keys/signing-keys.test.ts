import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JWK,
} from 'jose';
import { ConfigError, ConflictError, createLogger } from '@platform/kernel';
import { signAccessToken, SigningKeys } from './signing-keys.js';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ log: { level: 'info', pretty: false } }, 'identity', {
    write: (line: string) => void lines.push(line),
  });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const TOKEN = { issuer: 'https://identity.test', audience: 'platform', ttlSec: 900 };
const DAY = 24 * 3600 * 1000;

/** A clock the test moves; starts now so tokens signed with real time stay valid. */
function fakeClock() {
  let at = Date.now();
  return { now: () => at, advance: (ms: number) => void (at += ms) };
}

async function verify(token: string, keys: SigningKeys) {
  return jwtVerify(token, createLocalJWKSet(keys.jwks()), {
    issuer: TOKEN.issuer,
    audience: TOKEN.audience,
    algorithms: ['EdDSA'],
  });
}

async function privateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return exportJWK(privateKey);
}

describe('SigningKeys from a directory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(await mkdtemp(join(tmpdir(), 'identity-keys-')), 'identity', 'keys');
  });
  afterEach(async () => {
    await rm(join(dir, '..', '..'), { recursive: true, force: true });
  });

  it('creates one key file, mode 0600, named and identified by the JWK thumbprint', async () => {
    const { logger, lines } = capture();
    const keys = await SigningKeys.open({ dir, logger });
    const { kid } = keys.current();

    expect(await readdir(dir)).toEqual([`${kid}.json`]);
    const file = join(dir, `${kid}.json`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const content = JSON.parse(await readFile(file, 'utf8')) as { kid: string; createdAt: string; privateJwk: JWK };
    expect(Object.keys(content).sort()).toEqual(['createdAt', 'kid', 'privateJwk']);
    expect(content.kid).toBe(kid);
    expect(new Date(content.createdAt).toISOString()).toBe(content.createdAt);
    expect(content.privateJwk).toMatchObject({
      kty: 'OKP',
      crv: 'Ed25519',
      x: expect.any(String),
      d: expect.any(String),
    });
    expect(await calculateJwkThumbprint(content.privateJwk)).toBe(kid);
    expect(lines.join('\n')).not.toContain(content.privateJwk.d);
  });

  it('loads the same key when reopened', async () => {
    const first = await SigningKeys.open({ dir, logger: capture().logger });
    const second = await SigningKeys.open({ dir, logger: capture().logger });
    expect(second.current().kid).toBe(first.current().kid);
    expect(await readdir(dir)).toHaveLength(1);
    // A token from before the restart verifies against the reopened JWKS.
    const { token } = await signAccessToken(first, { sub: 'u1', sid: 's1' }, TOKEN);
    await expect(verify(token, second)).resolves.toBeDefined();
  });

  it('publishes only public members in the JWKS', async () => {
    const keys = await SigningKeys.open({ dir, logger: capture().logger });
    await keys.rotate();
    const { keys: published } = keys.jwks();
    expect(published).toHaveLength(2);
    for (const jwk of published) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(jwk).not.toHaveProperty('d');
    }
    const secrets = await Promise.all(
      (await readdir(dir)).map(
        async (name) => (JSON.parse(await readFile(join(dir, name), 'utf8')) as { privateJwk: JWK }).privateJwk.d!,
      ),
    );
    const serialized = JSON.stringify(keys.jwks());
    for (const d of secrets) expect(serialized).not.toContain(d);
    // Callers get copies: changing one does not change what is published.
    (published[0] as unknown as Record<string, unknown>).d = 'oops';
    expect(keys.jwks().keys[0]).not.toHaveProperty('d');
  });

  it('signs an access token that jose verifies against the JWKS, with the right header and claims', async () => {
    const keys = await SigningKeys.open({ dir, logger: capture().logger });
    const before = Math.floor(Date.now() / 1000);
    const { token, expiresIn } = await signAccessToken(keys, { sub: 'user-1', sid: 'session-1' }, TOKEN);
    expect(expiresIn).toBe(900);

    const { payload, protectedHeader } = await verify(token, keys);
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: keys.current().kid, typ: 'JWT' });
    expect(payload).toEqual({
      sub: 'user-1',
      sid: 'session-1',
      iss: TOKEN.issuer,
      aud: TOKEN.audience,
      iat: expect.any(Number),
      exp: payload.iat! + 900,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(payload.iat).toBeGreaterThanOrEqual(before);

    const other = await signAccessToken(keys, { sub: 'user-1', sid: 'session-1' }, TOKEN);
    expect((await verify(other.token, keys)).payload.jti).not.toBe(payload.jti);
    await expect(
      jwtVerify(token, createLocalJWKSet(keys.jwks()), { issuer: TOKEN.issuer, audience: 'someone-else' }),
    ).rejects.toThrow(errors.JWTClaimValidationFailed);
  });

  it('rotate: the new key signs, old tokens verify until the retention passes, then the old key is deleted', async () => {
    const clock = fakeClock();
    const keys = await SigningKeys.open({ dir, logger: capture().logger, retainAfterRotationSec: 60, now: clock.now });
    const oldKid = keys.current().kid;
    const old = await signAccessToken(keys, { sub: 'u', sid: 's' }, TOKEN);

    clock.advance(1000);
    expect(await keys.rotate()).toEqual({ kid: expect.any(String), previousKid: oldKid });
    const newKid = keys.current().kid;
    expect(newKid).not.toBe(oldKid);
    const fresh = await signAccessToken(keys, { sub: 'u', sid: 's' }, TOKEN);
    expect(decodeProtectedHeader(fresh.token).kid).toBe(newKid);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
    expect((await readdir(dir)).sort()).toEqual([`${newKid}.json`, `${oldKid}.json`].sort());
    await expect(verify(old.token, keys)).resolves.toBeDefined();
    await expect(verify(fresh.token, keys)).resolves.toBeDefined();

    // A reopen inside the retention keeps both, the newest signing.
    const reopened = await SigningKeys.open({
      dir,
      logger: capture().logger,
      retainAfterRotationSec: 60,
      now: clock.now,
    });
    expect(reopened.current().kid).toBe(newKid);
    expect(reopened.jwks().keys.map((k) => k.kid)).toEqual([newKid, oldKid]);

    clock.advance(59_000);
    await expect(verify(old.token, keys)).resolves.toBeDefined();
    clock.advance(1000);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([newKid]);
    await expect(verify(old.token, keys)).rejects.toThrow(errors.JWKSNoMatchingKey);
    await expect(verify(fresh.token, keys)).resolves.toBeDefined();

    await keys.prune();
    expect(await readdir(dir)).toEqual([`${newKid}.json`]);
  });

  it('deletes keys past their retention when opened', async () => {
    const clock = fakeClock();
    const options = { dir, logger: capture().logger, retainAfterRotationSec: 1, now: clock.now };
    const keys = await SigningKeys.open(options);
    const oldKid = keys.current().kid;
    await keys.rotate();
    expect(await readdir(dir)).toHaveLength(2);
    clock.advance(2000);
    const reopened = await SigningKeys.open(options);
    expect(reopened.jwks().keys.map((k) => k.kid)).not.toContain(oldKid);
    expect(await readdir(dir)).toEqual([`${reopened.current().kid}.json`]);
  });

  it('rotates on open when the current key is older than rotateAfterDays', async () => {
    const clock = fakeClock();
    const options = {
      dir,
      logger: capture().logger,
      rotateAfterDays: 30,
      retainAfterRotationSec: 3600,
      now: clock.now,
    };
    const first = await SigningKeys.open(options);
    const firstKid = first.current().kid;

    clock.advance(29 * DAY);
    expect((await SigningKeys.open(options)).current().kid).toBe(firstKid);
    expect(await first.rotateIfDue()).toBe(false);

    clock.advance(1 * DAY);
    const later = await SigningKeys.open(options);
    expect(later.current().kid).not.toBe(firstKid);
    expect(later.jwks().keys.map((k) => k.kid)).toEqual([later.current().kid, firstKid]);
  });

  it('skips an unusable key file with a warning that quotes nothing of it', async () => {
    const { logger, records, lines } = capture();
    const jwk = await privateJwk();
    const keys0 = await SigningKeys.open({ dir, logger: capture().logger });
    const goodKid = keys0.current().kid;
    await writeFile(join(dir, 'broken.json'), `{"kid":"x","privateJwk":{"d":"${jwk.d}"`, { mode: 0o600 });
    await writeFile(
      join(dir, 'wrong-kid.json'),
      JSON.stringify({ kid: 'not-the-thumbprint', createdAt: new Date().toISOString(), privateJwk: jwk }),
      { mode: 0o600 },
    );

    const keys = await SigningKeys.open({ dir, logger });
    expect(keys.current().kid).toBe(goodKid);
    const warnings = records().filter((r) => r.level === 'warn');
    expect(warnings.map((w) => w.reason).sort()).toEqual(['kid is not the key thumbprint', 'not valid JSON']);
    expect(lines.join('\n')).not.toContain(jwk.d);
  });

  it('keeps a key in memory when there is no directory', async () => {
    const { logger, records } = capture();
    const keys = await SigningKeys.open({ dir: null, logger });
    const { token } = await signAccessToken(keys, { sub: 'u', sid: 's' }, TOKEN);
    await expect(verify(token, keys)).resolves.toBeDefined();
    expect(records().some((r) => r.level === 'warn')).toBe(true);
  });
});

describe('SigningKeys from config', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'identity-keys-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses configured keys instead of files: the first signs, all are published', async () => {
    const [current, previous] = [await privateJwk(), await privateJwk()];
    const { logger, lines } = capture();
    const keys = await SigningKeys.open({
      dir: join(dir, 'keys'),
      configured: [
        { kid: 'key-2026-11', privateJwk: current },
        { kid: 'key-2026-10', privateJwk: previous as Record<string, unknown> },
      ],
      logger,
    });
    expect(await readdir(dir)).toEqual([]);
    expect(keys.current().kid).toBe('key-2026-11');
    expect(keys.jwks().keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: current.x, kid: 'key-2026-11', alg: 'EdDSA', use: 'sig' },
      { kty: 'OKP', crv: 'Ed25519', x: previous.x, kid: 'key-2026-10', alg: 'EdDSA', use: 'sig' },
    ]);
    const { token } = await signAccessToken(keys, { sub: 'u', sid: 's' }, TOKEN);
    expect(decodeProtectedHeader(token).kid).toBe('key-2026-11');
    await expect(verify(token, keys)).resolves.toBeDefined();

    // A second replica with the same config verifies the first one's tokens.
    const replica = await SigningKeys.open({
      dir: null,
      configured: [{ kid: 'key-2026-11', privateJwk: current }],
      logger,
    });
    await expect(verify(token, replica)).resolves.toBeDefined();

    await expect(keys.rotate()).rejects.toThrow(ConflictError);
    expect(await keys.rotateIfDue()).toBe(false);
    expect(lines.join('\n')).not.toContain(current.d);
  });

  it.each([
    ['no keys', async () => [], 'must list at least one key'],
    [
      'a public key only',
      async () => [{ kid: 'a', privateJwk: { ...(await privateJwk()), d: undefined } }],
      'not a private Ed25519 JWK',
    ],
    [
      'an RSA-shaped key',
      async () => [{ kid: 'a', privateJwk: { kty: 'RSA', n: 'x', e: 'AQAB', d: 'y' } }],
      'not a private Ed25519 JWK',
    ],
    [
      'a private key that does not match its x',
      async () => [{ kid: 'a', privateJwk: { ...(await privateJwk()), x: (await privateJwk()).x } }],
      'could not be imported as an Ed25519 key',
    ],
    [
      'a duplicate kid',
      async () => [
        { kid: 'a', privateJwk: await privateJwk() },
        { kid: 'a', privateJwk: await privateJwk() },
      ],
      'duplicate kid a',
    ],
  ])('rejects %s as a ConfigError', async (_name, make, message) => {
    const configured = (await make()) as Array<{ kid: string; privateJwk: Record<string, unknown> }>;
    const opening = SigningKeys.open({ dir, configured, logger: capture().logger });
    await expect(opening).rejects.toThrow(ConfigError);
    await expect(opening).rejects.toThrow(message);
  });
});
