import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { ModuleDatabase } from '@platform/kernel';
import { ConfigError, ConflictError } from '@platform/kernel';
import { capture, fakeClock, kek, keyDatabase, openKeys, privateJwk } from './__tests__/key-db.js';
import { KeyEncryption } from './key-encryption.js';
import { signAccessToken, SigningKeys } from './signing-keys.js';

const TOKEN = { issuer: 'https://identity.test', audience: 'platform', ttlSec: 900 };
const DAY = 24 * 3600 * 1000;

async function verify(token: string, keys: SigningKeys) {
  return jwtVerify(token, createLocalJWKSet(keys.jwks()), {
    issuer: TOKEN.issuer,
    audience: TOKEN.audience,
    algorithms: ['EdDSA'],
  });
}

const kids = (keys: SigningKeys): string[] => keys.jwks().keys.map((key) => key.kid);

describe('SigningKeys in the database', () => {
  let database: Awaited<ReturnType<typeof keyDatabase>>;
  let db: ModuleDatabase;
  let other: ModuleDatabase;
  let encryption: KeyEncryption;
  const rows = () =>
    db
      .fork()
      .execute<Array<{ kid: string; private_jwk_jwe: string; kek_id: string; origin: string }>>(
        `select "kid", "private_jwk_jwe", "kek_id", "origin" from "${db.schema}"."signing_key" order by "created_at"`,
      );

  beforeAll(async () => {
    database = await keyDatabase();
    db = database.db;
    other = await database.second();
    encryption = new KeyEncryption(kek());
  });
  afterAll(async () => {
    await database?.close();
  });
  beforeEach(async () => {
    await db.fork().execute(`delete from "${db.schema}"."signing_key"`);
  });

  it('creates one key, stored encrypted: the table holds no private member', async () => {
    const { logger, lines } = capture();
    const keys = await openKeys(db, encryption, { logger });
    const { kid } = keys.current();
    const [row, ...more] = await rows();
    expect(more).toEqual([]);
    expect(row).toMatchObject({ kid, kek_id: encryption.currentId, origin: 'initial' });
    expect(row!.private_jwk_jwe.split('.')).toHaveLength(5); // a compact JWE
    const { jwk } = await encryption.decrypt(kid, row!.private_jwk_jwe);
    expect(await calculateJwkThumbprint(jwk)).toBe(kid);
    const stored = JSON.stringify(await db.fork().execute(`select * from "${db.schema}"."signing_key"`));
    expect(stored).not.toContain(jwk.d);
    expect(lines.join('\n')).not.toContain(jwk.d);
  });

  it('two instances on one database publish the same JWKS and verify each other’s tokens', async () => {
    const first = await openKeys(db, encryption);
    const second = await openKeys(other, encryption);
    expect(second.current().kid).toBe(first.current().kid);
    expect(second.jwks()).toEqual(first.jwks());
    const { token } = await signAccessToken(first, { sub: 'u1', sid: 's1' }, TOKEN);
    await expect(verify(token, second)).resolves.toBeDefined();
    expect(await rows()).toHaveLength(1);
  });

  it('publishes only public members, and callers get copies', async () => {
    const keys = await openKeys(db, encryption);
    await keys.rotate();
    const { keys: published } = keys.jwks();
    expect(published).toHaveLength(2);
    for (const jwk of published) {
      expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
      expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    }
    (published[0] as unknown as Record<string, unknown>).d = 'oops';
    expect(keys.jwks().keys[0]).not.toHaveProperty('d');
  });

  it('signs an access token jose verifies against the JWKS, with the right header and claims', async () => {
    const keys = await openKeys(db, encryption);
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
    await expect(
      jwtVerify(token, createLocalJWKSet(keys.jwks()), { issuer: TOKEN.issuer, audience: 'someone-else' }),
    ).rejects.toThrow(errors.JWTClaimValidationFailed);
  });

  it('rotate: the new key signs at once; the other instance sees it after a refresh', async () => {
    const clock = fakeClock();
    const a = await openKeys(db, encryption, { now: clock.now });
    const b = await openKeys(other, encryption, { now: clock.now });
    const oldKid = a.current().kid;
    const old = await signAccessToken(a, { sub: 'u', sid: 's' }, TOKEN);

    clock.advance(1000);
    const rotated = await a.rotate();
    expect(rotated).toEqual({ kid: expect.any(String), previousKid: oldKid, activatesAt: new Date(clock.now()) });
    expect(a.current().kid).toBe(rotated.kid);
    const fresh = await signAccessToken(a, { sub: 'u', sid: 's' }, TOKEN);
    expect(decodeProtectedHeader(fresh.token).kid).toBe(rotated.kid);

    // Until it refreshes, b signs with the old key (still published) and does not know the new one.
    expect(b.current().kid).toBe(oldKid);
    await expect(verify(fresh.token, b)).rejects.toThrow(errors.JWKSNoMatchingKey);
    await b.refresh();
    expect(b.current().kid).toBe(rotated.kid);
    expect(b.jwks()).toEqual(a.jwks());
    expect(kids(b)).toEqual([rotated.kid, oldKid]);
    await expect(verify(old.token, b)).resolves.toBeDefined();
    await expect(verify(fresh.token, b)).resolves.toBeDefined();
    expect((await rows()).map((row) => row.origin)).toEqual(['initial', 'manual']);
  });

  it('keeps a retired key published for the retention, then any instance deletes it and the others drop it', async () => {
    const clock = fakeClock();
    const options = { now: clock.now, retainAfterRotationSec: 60 };
    const a = await openKeys(db, encryption, options);
    const b = await openKeys(other, encryption, options);
    const oldKid = a.current().kid;
    const old = await signAccessToken(a, { sub: 'u', sid: 's' }, TOKEN);
    clock.advance(1000);
    const { kid: newKid } = await a.rotate();
    await b.refresh();

    clock.advance(59_000);
    expect(await b.prune()).toEqual([]);
    await expect(verify(old.token, a)).resolves.toBeDefined();
    clock.advance(1000);
    // Past the retention it is no longer published, even before it is deleted.
    expect(kids(a)).toEqual([newKid]);
    await expect(verify(old.token, a)).rejects.toThrow(errors.JWKSNoMatchingKey);
    expect(await b.prune()).toEqual([oldKid]);
    expect(await a.prune()).toEqual([]); // idempotent: already gone
    expect((await rows()).map((row) => row.kid)).toEqual([newKid]);
    await a.refresh();
    expect(a.list().map((key) => key.kid)).toEqual([newKid]);
    expect(a.current().kid).toBe(newKid);
  });

  it('rotateIfDue publishes the next key a lead before it signs; of two instances exactly one creates it', async () => {
    const clock = fakeClock();
    const options = { now: clock.now, rotateAfterDays: 30, publishLeadSec: 600, retainAfterRotationSec: 3600 };
    const a = await openKeys(db, encryption, options);
    const b = await openKeys(other, encryption, options);
    const firstKid = a.current().kid;

    clock.advance(29 * DAY);
    expect(await Promise.all([a.rotateIfDue(), b.rotateIfDue()])).toEqual([false, false]);
    clock.advance(1 * DAY);
    const results = await Promise.all([a.rotateIfDue(), b.rotateIfDue(), a.rotateIfDue(), b.rotateIfDue()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await rows()).toHaveLength(2);
    await Promise.all([a.refresh(), b.refresh()]);

    // Published everywhere at once, signing only after the lead.
    const nextKid = kids(a).find((kid) => kid !== firstKid)!;
    expect(kids(a)).toEqual([nextKid, firstKid]);
    expect(b.jwks()).toEqual(a.jwks());
    expect(a.list().map((key) => key.state)).toEqual(['pending', 'signing']);
    expect([a.current().kid, b.current().kid]).toEqual([firstKid, firstKid]);
    clock.advance(599_000);
    expect(b.current().kid).toBe(firstKid);
    clock.advance(1000);
    expect([a.current().kid, b.current().kid]).toEqual([nextKid, nextKid]);
    expect(a.list().map((key) => key.state)).toEqual(['signing', 'retired']);
    expect(await a.rotateIfDue()).toBe(false);
  });

  it('makes a key at the next maintenance when the table was emptied under a running instance', async () => {
    const keys = await openKeys(db, encryption);
    const before = keys.current().kid;
    await db.fork().execute(`delete from "${db.schema}"."signing_key"`);
    await keys.maintain();
    expect(keys.current().kid).not.toBe(before);
    expect((await rows()).map((row) => [row.kid, row.origin])).toEqual([[keys.current().kid, 'initial']]);
  });

  it('rotates on open when the newest key is older than rotateAfterDays', async () => {
    const clock = fakeClock();
    const options = { now: clock.now, rotateAfterDays: 30, publishLeadSec: 0 };
    const firstKid = (await openKeys(db, encryption, options)).current().kid;
    clock.advance(30 * DAY);
    const later = await openKeys(other, encryption, options);
    expect(later.current().kid).not.toBe(firstKid);
    expect(kids(later)).toEqual([later.current().kid, firstKid]);
  });

  it('a rotation with a lead activates later, and an immediate one after it takes precedence', async () => {
    const clock = fakeClock();
    const keys = await openKeys(db, encryption, { now: clock.now, retainAfterRotationSec: 60 });
    const first = keys.current().kid;
    const scheduled = await keys.rotate({ activateAfterSec: 3600 });
    expect(keys.current().kid).toBe(first);
    clock.advance(1000);
    const urgent = await keys.rotate();
    expect(urgent.previousKid).toBe(first);
    expect(keys.current().kid).toBe(urgent.kid);
    clock.advance(3600_000);
    // The scheduled key never signs: a newer key was already active when its time came.
    expect(keys.current().kid).toBe(urgent.kid);
    expect(await keys.prune()).toEqual(expect.arrayContaining([first, scheduled.kid]));
    expect(kids(keys)).toEqual([urgent.kid]);
  });

  it('imports key files of earlier versions once, keeping their tokens valid, and deletes the files', async () => {
    const dir = join(database.dataDir, 'identity', 'keys');
    await mkdir(dir, { recursive: true });
    const [older, newer] = [await privateJwk(), await privateJwk()];
    const file = async (jwk: typeof older, createdAt: number) => {
      const kid = await calculateJwkThumbprint(jwk);
      const content = { kid, createdAt: new Date(createdAt).toISOString(), privateJwk: jwk };
      await writeFile(join(dir, `${kid}.json`), JSON.stringify(content), { mode: 0o600 });
      return kid;
    };
    const olderKid = await file(older, Date.now() - 2 * DAY);
    const newerKid = await file(newer, Date.now() - DAY);
    await writeFile(join(dir, 'broken.json'), `{"kid":"x","privateJwk":{"d":"${newer.d}"`, { mode: 0o600 });
    const { logger, lines, records } = capture();

    const keys = await openKeys(db, encryption, { importDir: dir, logger });
    expect(keys.current().kid).toBe(newerKid);
    expect(kids(keys)).toEqual([newerKid, olderKid]);
    expect((await rows()).map((row) => [row.kid, row.origin])).toEqual([
      [olderKid, 'imported'],
      [newerKid, 'imported'],
    ]);
    expect(await readdir(dir)).toEqual(['broken.json']); // the unusable file is left for the operator
    expect(records().find((r) => r.reason === 'not valid JSON')).toMatchObject({ level: 'warn' });
    expect(lines.join('\n')).not.toContain(newer.d);

    const again = await openKeys(other, encryption, { importDir: dir });
    expect(again.jwks()).toEqual(keys.jwks());
    expect(await rows()).toHaveLength(2);
  });

  it('an imported key older than the table’s keys stays published for the retention from its import', async () => {
    const clock = fakeClock();
    const keys = await openKeys(db, encryption, { now: clock.now, retainAfterRotationSec: 60 });
    const dir = join(database.dataDir, 'identity', 'keys-late');
    await mkdir(dir, { recursive: true });
    const jwk = await privateJwk();
    const kid = await calculateJwkThumbprint(jwk);
    const createdAt = new Date(clock.now() - 10 * DAY).toISOString();
    await writeFile(join(dir, `${kid}.json`), JSON.stringify({ kid, createdAt, privateJwk: jwk }), { mode: 0o600 });

    const upgraded = await openKeys(other, encryption, { now: clock.now, retainAfterRotationSec: 60, importDir: dir });
    // The instance that signed with it until now signs with the table's key from now on.
    expect(upgraded.current().kid).toBe(keys.current().kid);
    expect(kids(upgraded)).toContain(kid);
    clock.advance(60_000);
    expect(await upgraded.prune()).toEqual([kid]);
  });

  it('uses configured keys instead of the database: the first signs, all are published', async () => {
    const [current, previous] = [await privateJwk(), await privateJwk()];
    const { logger, lines } = capture();
    const keys = await SigningKeys.open({
      configured: [
        { kid: 'key-2026-11', privateJwk: current },
        { kid: 'key-2026-10', privateJwk: previous as Record<string, unknown> },
      ],
      logger,
    });
    expect(await rows()).toEqual([]);
    expect(keys.current().kid).toBe('key-2026-11');
    expect(keys.jwks().keys).toEqual([
      { kty: 'OKP', crv: 'Ed25519', x: current.x, kid: 'key-2026-11', alg: 'EdDSA', use: 'sig' },
      { kty: 'OKP', crv: 'Ed25519', x: previous.x, kid: 'key-2026-10', alg: 'EdDSA', use: 'sig' },
    ]);
    const { token } = await signAccessToken(keys, { sub: 'u', sid: 's' }, TOKEN);
    await expect(verify(token, keys)).resolves.toBeDefined();
    await expect(keys.rotate()).rejects.toThrow(ConflictError);
    expect(await keys.rotateIfDue()).toBe(false);
    expect(await keys.prune()).toEqual([]);
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
  ])('rejects configured keys with %s as a ConfigError', async (_name, make, message) => {
    const configured = (await make()) as Array<{ kid: string; privateJwk: Record<string, unknown> }>;
    const opening = SigningKeys.open({ configured, logger: capture().logger });
    await expect(opening).rejects.toThrow(ConfigError);
    await expect(opening).rejects.toThrow(message);
  });
});
