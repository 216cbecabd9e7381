import { createHmac, randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, type JWK } from 'jose';
import { ConfigError, type ConfigIssue, type PlatformConfig } from '@platform/kernel';

/** The setting (and its variables) every message about the key-encryption key names. */
export const KEK_SETTING = 'modules.identity.keys.encryptionKey';
export const KEK_VARIABLES = 'SIGNING_KEY_ENCRYPTION_KEY or SIGNING_KEY_ENCRYPTION_KEY_FILE';
export const PREVIOUS_KEK_SETTING = 'modules.identity.keys.previousEncryptionKeys';

/** What a key-encryption key must look like, for config messages (never quoting the value). */
export const KEK_FORMAT = '32 random bytes, base64 or hex encoded, e.g. from `openssl rand -base64 32`';

/** Where a generated key-encryption key is kept outside production. */
export const generatedKekFile = (dataDir: string): string => join(dataDir, 'identity', 'signing-key-encryption-key');

/**
 * Decodes a key-encryption key: 64 hex digits, or base64/base64url (padded or not) of exactly 32
 * bytes. A value with fewer than 16 distinct bytes (`0000…`, `aaaa…`) is a placeholder, not 32
 * random bytes (which have about 30), and is refused too. Passphrases are not accepted: a KEK
 * comes from a random generator, so no key derivation with its own parameters is needed.
 */
export function decodeKek(value: string): Buffer | null {
  const text = value.trim();
  let bytes: Buffer | null = null;
  if (/^[0-9a-fA-F]{64}$/.test(text)) bytes = Buffer.from(text, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) bytes = Buffer.from(text.replace(/=$/, ''), 'base64url');
  if (bytes?.length !== 32 || new Set(bytes).size < 16) return null;
  return bytes;
}

/** A short public name for a KEK (stored beside each ciphertext): an HMAC under it, so it reveals nothing. */
export function kekId(kek: Uint8Array): string {
  return createHmac('sha256', kek).update('platform identity signing-key KEK id v1').digest('base64url').slice(0, 16);
}

/** A signing key's ciphertext that this instance cannot or must not decrypt; never quotes key material. */
export class KeyDecryptionError extends Error {
  override name = 'KeyDecryptionError';
}

/**
 * Encrypts signing keys' private JWKs at rest: JWE compact serialization, `dir` + `A256GCM`
 * (AES-256-GCM with a fresh 96-bit IV per encryption), under the configured key-encryption key.
 * The protected header, which GCM authenticates as additional data, names the KEK (`kid`) and
 * the signing key (`skid`): a ciphertext copied onto another key's row fails to decrypt there.
 * Previous KEKs only decrypt, so rows written under them can be read and re-encrypted.
 */
export class KeyEncryption {
  readonly currentId: string;
  readonly #keys: Map<string, Uint8Array>;

  constructor(current: Uint8Array, previous: readonly Uint8Array[] = []) {
    this.currentId = kekId(current);
    this.#keys = new Map([...previous.map((kek) => [kekId(kek), kek] as const), [this.currentId, current]]);
  }

  /** Whether a ciphertext written under `id` can be decrypted here. */
  knows(id: string): boolean {
    return this.#keys.has(id);
  }

  /** The private JWK of signing key `kid`, encrypted under the current KEK. */
  async encrypt(kid: string, privateJwk: JWK): Promise<{ jwe: string; kekId: string }> {
    const plaintext = new TextEncoder().encode(JSON.stringify(privateJwk));
    const jwe = await new CompactEncrypt(plaintext)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: this.currentId, skid: kid })
      .encrypt(this.#keys.get(this.currentId)!);
    return { jwe, kekId: this.currentId };
  }

  /** Decrypts the private JWK stored for signing key `kid`; which KEK did is returned with it. */
  async decrypt(kid: string, jwe: string): Promise<{ jwk: JWK; kekId: string }> {
    let id: unknown;
    try {
      id = decodeProtectedHeader(jwe).kid;
    } catch {
      throw new KeyDecryptionError(`signing key ${kid}: the stored private key is not a JWE`);
    }
    const kek = typeof id === 'string' ? this.#keys.get(id) : undefined;
    if (typeof id !== 'string' || !kek) {
      throw new KeyDecryptionError(
        `signing key ${kid} is encrypted with key-encryption key ${String(id)}, which is neither ${KEK_SETTING} ` +
          `(${KEK_VARIABLES}; key id ${this.currentId}) nor in ${PREVIOUS_KEK_SETTING}: ` +
          'configure the key it was written with',
      );
    }
    let result;
    try {
      result = await compactDecrypt(jwe, kek, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
      });
    } catch {
      throw new KeyDecryptionError(
        `signing key ${kid} does not decrypt with key-encryption key ${id}: its ciphertext was altered`,
      );
    }
    // Authenticated with the ciphertext: a row holding another key's ciphertext is caught here.
    if (result.protectedHeader.skid !== kid) {
      throw new KeyDecryptionError(`signing key ${kid}: the stored ciphertext belongs to another signing key`);
    }
    let jwk: JWK;
    try {
      jwk = JSON.parse(new TextDecoder().decode(result.plaintext)) as JWK;
    } catch {
      throw new KeyDecryptionError(`signing key ${kid}: the decrypted private key is not a JWK`);
    }
    return { jwk, kekId: id };
  }
}

/** The error for a table none of whose keys decrypt here: the KEK is not the one they were written with. */
export function undecryptableKeys(storedKekIds: readonly string[], currentId: string | null): ConfigError {
  return new ConfigError([
    {
      path: KEK_SETTING,
      message:
        `no signing key in the database can be decrypted here: they are encrypted with key-encryption key ` +
        `${[...new Set(storedKekIds)].join(', ')}, and ${KEK_SETTING} (${KEK_VARIABLES}) has key id ${currentId}. ` +
        `Configure the key they were written with (the same on every identity instance), or list it in ${PREVIOUS_KEK_SETTING}`,
    },
  ]);
}

type KeySettings = { encryptionKey?: string | null; previousEncryptionKeys?: readonly string[] };

/**
 * The key encryption the configuration asks for: `encryptionKey` (current) and
 * `previousEncryptionKeys`. Outside production an unset key is generated once under
 * `DATA_DIR/identity/` (mode 0600) and read back on every start, so `npm start` needs no setting;
 * production refuses to start without one, since instances would each generate their own and
 * none could read the others' keys.
 */
export async function keyEncryptionFromConfig(
  keys: KeySettings,
  platform: Pick<PlatformConfig, 'env' | 'dataDir'>,
): Promise<{ encryption: KeyEncryption; generatedFile?: string }> {
  const issues: ConfigIssue[] = [];
  const previous: Buffer[] = [];
  for (const [i, value] of (keys.previousEncryptionKeys ?? []).entries()) {
    const kek = decodeKek(value);
    if (kek) previous.push(kek);
    else issues.push({ path: `${PREVIOUS_KEK_SETTING}.${i}`, message: `must be ${KEK_FORMAT}` });
  }
  let current: Buffer | null = null;
  if (keys.encryptionKey) {
    current = decodeKek(keys.encryptionKey);
    if (!current) issues.push({ path: KEK_SETTING, message: `must be ${KEK_FORMAT}` });
  } else if (platform.env === 'production') {
    issues.push({
      path: KEK_SETTING,
      message: `required in production: set ${KEK_VARIABLES}, the same for every identity instance: ${KEK_FORMAT}`,
    });
  }
  if (issues.length) throw new ConfigError(issues);
  if (current) return { encryption: new KeyEncryption(current, previous) };
  const file = generatedKekFile(platform.dataDir);
  return { encryption: new KeyEncryption(await generatedKek(file), previous), generatedFile: file };
}

/** Reads the generated KEK, making it first if there is none; when two processes race, the first one's wins. */
async function generatedKek(file: string): Promise<Buffer> {
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text === undefined) {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(`${randomBytes(32).toString('base64url')}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      // link, unlike rename, never replaces: a KEK another process already wrote stays.
      await link(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await rm(temp, { force: true });
    }
    text = await readFile(file, 'utf8');
  }
  const kek = decodeKek(text);
  if (!kek) {
    throw new ConfigError([
      { path: KEK_SETTING, message: `${file} (generated outside production) does not hold ${KEK_FORMAT}` },
    ]);
  }
  return kek;
}
