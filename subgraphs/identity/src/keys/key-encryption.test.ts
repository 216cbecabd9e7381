import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, moduleConfig, type ModuleDatabase, type PlatformConfig } from '@platform/kernel';
import { envOverrides, loadConfig } from '@platform/kernel/testing';
import { identityConfigSchema } from '../config.js';
import { calculateJwkThumbprint } from 'jose';
import { capture, fakeClock, kek, keyDatabase, openKeys, privateJwk } from './__tests__/key-db.js';
import {
  decodeKek,
  generatedKekFile,
  KeyDecryptionError,
  KeyEncryption,
  keyEncryptionFromConfig,
  kekId,
} from './key-encryption.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'identity-kek-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('decodeKek', () => {
  const bytes = randomBytes(32);
  it.each([
    ['base64 (openssl rand -base64 32)', bytes.toString('base64')],
    ['base64url without padding', bytes.toString('base64url')],
    ['hex', bytes.toString('hex')],
    ['upper-case hex with surrounding whitespace', ` ${bytes.toString('hex').toUpperCase()}\n`],
  ])('takes %s', (_name, value) => {
    expect(decodeKek(value)).toEqual(bytes);
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64')],
    ['48 bytes', randomBytes(48).toString('base64')],
    ['a passphrase', 'correct horse battery staple and then some more words'],
    ['a placeholder', 'A'.repeat(43)],
    ['zeros', '0'.repeat(64)],
    ['empty', ''],
  ])('refuses %s', (_name, value) => {
    expect(decodeKek(value)).toBeNull();
  });
});

describe('KeyEncryption', () => {
  it('names a KEK by an id that reveals nothing of it and is the same everywhere', () => {
    const key = kek();
    expect(kekId(key)).toBe(kekId(Buffer.from(key)));
    expect(kekId(key)).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(kekId(kek())).not.toBe(kekId(key));
  });

  it('encrypts a private JWK so that only its KEK decrypts it, for its own kid only', async () => {
    const jwk = await privateJwk();
    const key = kek();
    const encryption = new KeyEncryption(key);
    const { jwe, kekId: id } = await encryption.encrypt('kid-1', jwk);
    expect(id).toBe(encryption.currentId);
    expect(jwe).not.toContain(jwk.d);
    expect(jwe).not.toContain(jwk.x);
    expect(await encryption.decrypt('kid-1', jwe)).toEqual({ jwk, kekId: id });
    // A fresh IV each time: the same key never gives the same ciphertext.
    expect((await encryption.encrypt('kid-1', jwk)).jwe).not.toBe(jwe);

    const moved = encryption.decrypt('kid-2', jwe);
    await expect(moved).rejects.toThrow(KeyDecryptionError);
    await expect(moved).rejects.toThrow('belongs to another signing key');

    const other = new KeyEncryption(kek());
    const error = (await other.decrypt('kid-1', jwe).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(KeyDecryptionError);
    expect(error.message).toContain('modules.identity.keys.encryptionKey');
    expect(error.message).toContain('SIGNING_KEY_ENCRYPTION_KEY');
    for (const secret of [jwk.d!, key.toString('base64'), key.toString('base64url'), jwe]) {
      expect(error.message).not.toContain(secret);
    }

    const [header, encryptedKey, iv, ciphertext, tag] = jwe.split('.');
    const flipped = `${ciphertext!.startsWith('A') ? 'B' : 'A'}${ciphertext!.slice(1)}`;
    await expect(encryption.decrypt('kid-1', [header, encryptedKey, iv, flipped, tag].join('.'))).rejects.toThrow(
      'its ciphertext was altered',
    );
    await expect(encryption.decrypt('kid-1', 'not a jwe')).rejects.toThrow('not a JWE');
  });

  it('decrypts with previous KEKs but encrypts with the current one', async () => {
    const [old, fresh] = [kek(), kek()];
    const { jwe } = await new KeyEncryption(old).encrypt('kid', await privateJwk());
    const rotated = new KeyEncryption(fresh, [old]);
    expect((await rotated.decrypt('kid', jwe)).kekId).toBe(kekId(old));
    expect((await rotated.encrypt('kid', await privateJwk())).kekId).toBe(kekId(fresh));
  });
});

describe('keyEncryptionFromConfig', () => {
  const platform = (env: 'development' | 'production' | 'test', dataDir = tempDir()) => ({ env, dataDir });

  it('refuses production without a KEK, naming the setting and both variables', async () => {
    const error = (await keyEncryptionFromConfig({}, platform('production')).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues).toEqual([
      {
        path: 'modules.identity.keys.encryptionKey',
        message: expect.stringContaining('SIGNING_KEY_ENCRYPTION_KEY_FILE'),
      },
    ]);
  });

  it('generates one KEK outside production, owner-only, and reads the same one back', async () => {
    const dataDir = tempDir();
    const first = await keyEncryptionFromConfig({}, platform('development', dataDir));
    expect(first.generatedFile).toBe(generatedKekFile(dataDir));
    expect(statSync(first.generatedFile!).mode & 0o777).toBe(0o600);
    const again = await keyEncryptionFromConfig({}, platform('test', dataDir));
    expect(again.encryption.currentId).toBe(first.encryption.currentId);
  });

  it('takes a configured KEK (no file) and reports bad ones by their path', async () => {
    const key = kek();
    const dataDir = tempDir();
    const { encryption, generatedFile } = await keyEncryptionFromConfig(
      { encryptionKey: key.toString('base64') },
      platform('production', dataDir),
    );
    expect(generatedFile).toBeUndefined();
    expect(encryption.currentId).toBe(kekId(key));
    const error = (await keyEncryptionFromConfig(
      { encryptionKey: 'short', previousEncryptionKeys: [kek().toString('hex'), 'also short'] },
      platform('production', dataDir),
    ).catch((e: unknown) => e)) as ConfigError;
    expect(error.issues.map((issue) => issue.path)).toEqual([
      'modules.identity.keys.previousEncryptionKeys.1',
      'modules.identity.keys.encryptionKey',
    ]);
    expect(error.message).not.toContain('short');
  });
});

describe('the KEK settings', () => {
  const identityKeys = (env: Record<string, string>) => {
    const config = loadConfig({ env: { PLATFORM_ENV: 'test', ...env } }) as PlatformConfig;
    return moduleConfig(config, 'identity', identityConfigSchema).keys;
  };

  it('reads SIGNING_KEY_ENCRYPTION_KEY_FILE as written, and previous keys as a comma-separated list', () => {
    const [current, previous1, previous2] = [kek(), kek(), kek()];
    const file = join(tempDir(), 'kek');
    writeFileSync(file, `${current.toString('base64')}\n`);
    // Declared in config/default.yaml's `environment`, as a secret: read as written.
    const declared = (loadConfig({ env: { PLATFORM_ENV: 'test' } }) as PlatformConfig).environment;
    expect(envOverrides({ SIGNING_KEY_ENCRYPTION_KEY_FILE: file }, declared)).toEqual({
      modules: { identity: { keys: { encryptionKey: current.toString('base64') } } },
    });
    const keys = identityKeys({
      SIGNING_KEY_ENCRYPTION_KEY_FILE: file,
      SIGNING_KEY_PREVIOUS_ENCRYPTION_KEYS: `${previous1.toString('hex')}, ${previous2.toString('base64url')}`,
    });
    expect(keys.encryptionKey).toBe(current.toString('base64'));
    expect(keys.previousEncryptionKeys).toEqual([previous1.toString('hex'), previous2.toString('base64url')]);
    expect(identityKeys({}).encryptionKey).toBeNull();
  });

  it('refuses a KEK that is not 32 random bytes when the config is loaded, without quoting it', () => {
    const attempt = () => identityKeys({ SIGNING_KEY_ENCRYPTION_KEY: 'my-secret-passphrase' });
    expect(attempt).toThrow(ConfigError);
    // Named with the variable that set it (the operator's word for it), never quoted.
    expect(attempt).toThrow(
      /modules\.identity\.keys\.encryptionKey from SIGNING_KEY_ENCRYPTION_KEY: must be 32 random bytes/,
    );
    expect(attempt).not.toThrow(/my-secret-passphrase/);
  });
});

describe('signing keys under a KEK, in the database', () => {
  let database: Awaited<ReturnType<typeof keyDatabase>>;
  let db: ModuleDatabase;
  const table = () => `"${db.schema}"."signing_key"`;
  const kekIds = async () =>
    (await db.fork().execute<Array<{ kek_id: string }>>(`select "kek_id" from ${table()}`)).map((r) => r.kek_id);

  beforeAll(async () => {
    database = await keyDatabase();
    db = database.db;
  });
  afterAll(async () => {
    await database?.close();
  });
  beforeEach(async () => {
    await db.fork().execute(`delete from ${table()}`);
  });

  it('refuses to start with a KEK that decrypts none of the keys, naming the setting and quoting no key', async () => {
    const right = new KeyEncryption(kek());
    const keys = await openKeys(db, right);
    const { logger, lines } = capture();
    const opening = openKeys(db, new KeyEncryption(kek()), { logger });
    const error = (await opening.catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues[0]!.path).toBe('modules.identity.keys.encryptionKey');
    expect(error.message).toContain('SIGNING_KEY_ENCRYPTION_KEY');
    expect(error.message).toContain(right.currentId);
    const [row] = await db
      .fork()
      .execute<Array<{ private_jwk_jwe: string }>>(`select "private_jwk_jwe" from ${table()}`);
    const { jwk } = await right.decrypt(keys.current().kid, row!.private_jwk_jwe);
    expect(error.message).not.toContain(jwk.d);
    expect(lines.join('\n')).not.toContain(jwk.d);
  });

  it('a ciphertext moved onto another key’s row does not decrypt there, and that key is neither published nor used', async () => {
    const encryption = new KeyEncryption(kek());
    const keys = await openKeys(db, encryption);
    const older = keys.current().kid;
    const { kid: newer } = await keys.rotate();
    await db
      .fork()
      .execute(
        `update ${table()} set "private_jwk_jwe" = (select "private_jwk_jwe" from ${table()} where "kid" = ?) where "kid" = ?`,
        [older, newer],
      );
    const { logger, records } = capture();
    const reopened = await openKeys(db, encryption, { logger });
    expect(records().find((r) => r.kid === newer)).toMatchObject({
      level: 'error',
      reason: `signing key ${newer}: the stored ciphertext belongs to another signing key`,
    });
    expect(reopened.current().kid).toBe(older);
    expect(reopened.jwks().keys.map((k) => k.kid)).toEqual([older]);
    expect(reopened.list().map((k) => [k.kid, k.state, k.usable])).toEqual([
      [newer, 'unusable', false],
      [older, 'signing', true],
    ]);
  });

  it('a key written to the table without the KEK is never published: database access alone forges no token', async () => {
    const clock = fakeClock();
    const encryption = new KeyEncryption(kek());
    const keys = await openKeys(db, encryption, { now: clock.now, retainAfterRotationSec: 60 });
    const real = keys.current().kid;
    const forged = await privateJwk();
    const kid = await calculateJwkThumbprint(forged);
    // The attacker's own key, "encrypted" under a KEK of their own, made the newest and active.
    const { jwe, kekId: theirs } = await new KeyEncryption(kek()).encrypt(kid, forged);
    await db.fork().execute(
      `insert into ${table()} ("kid", "public_jwk", "private_jwk_jwe", "kek_id", "origin", "created_at", "activates_at")
         values (?, ?::jsonb, ?, ?, 'manual', now(), now())`,
      [kid, JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: forged.x }), jwe, theirs],
    );
    clock.advance(120_000);
    await keys.refresh();
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([real]);
    expect(keys.current().kid).toBe(real);
    // Nor does it retire the real key, which would otherwise be past its retention now.
    expect(await keys.prune()).toEqual([]);
    expect(keys.list().map((k) => [k.kid, k.state])).toEqual([
      [kid, 'unusable'],
      [real, 'signing'],
    ]);
  });

  it('re-encrypts keys under the new KEK when the old one is listed as previous, after which the old one is not needed', async () => {
    const [old, fresh] = [kek(), kek()];
    const keys = await openKeys(db, new KeyEncryption(old));
    await keys.rotate();
    expect(await kekIds()).toEqual([kekId(old), kekId(old)]);

    const rotated = await openKeys(db, new KeyEncryption(fresh, [old]));
    expect(await kekIds()).toEqual([kekId(fresh), kekId(fresh)]);
    const withoutOld = await openKeys(db, new KeyEncryption(fresh));
    expect(withoutOld.jwks()).toEqual(rotated.jwks());
    expect(withoutOld.current().kid).toBe(keys.current().kid);
    await expect(openKeys(db, new KeyEncryption(old))).rejects.toThrow(ConfigError);
  });
});
