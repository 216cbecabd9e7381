import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '@platform/kernel';
import { jwkThumbprint, type PublicJwk } from './key-ring.js';

/** This instance's checkpoint signing key: the private half never leaves the process. */
export interface CheckpointSigningKey {
  kid: string;
  publicJwk: PublicJwk;
  privateKey: KeyObject;
  /** Where it came from: `generated` (this data directory) or `configured`. */
  source: 'generated' | 'configured';
  /** The key file, for generated keys. */
  file?: string;
}

export interface SigningKeyOptions {
  /** `modules.audit.checkpointSigningKey`: a PKCS#8 PEM, or a private JWK (object or JSON text). */
  configured: string | Record<string, unknown> | null;
  /** `modules.audit.checkpointSigningKeyFile`: a file holding either. */
  file: string | null;
  /** Where a key is generated when none is configured: `<dataDir>/audit/keys`. */
  keyDir: string;
}

/** Name of the generated key in the key directory (PKCS#8 PEM, mode 0600). */
export const GENERATED_KEY_FILE = 'checkpoint-signing-key.pem';

const CONFIG_PATH = 'modules.audit.checkpointSigningKey';
const FILE_PATH = 'modules.audit.checkpointSigningKeyFile';

/**
 * The key this instance signs checkpoints with: configured (from a secret store: the same key
 * may serve several instances), or generated on first start under `keyDir` and read back on
 * every later one. Problems with a configured key are a ConfigError naming the setting; the
 * message never quotes key material.
 */
export function loadSigningKey(options: SigningKeyOptions): CheckpointSigningKey {
  if (options.configured !== null && options.file !== null) {
    throw new ConfigError([{ path: FILE_PATH, message: `set either ${CONFIG_PATH} or ${FILE_PATH}, not both` }]);
  }
  if (options.configured !== null) return fromMaterial(options.configured, CONFIG_PATH);
  if (options.file !== null) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      throw new ConfigError([{ path: FILE_PATH, message: `cannot read ${options.file}: ${(error as Error).message}` }]);
    }
    return fromMaterial(text, FILE_PATH);
  }
  return generatedKey(options.keyDir);
}

function fromMaterial(material: string | Record<string, unknown>, path: string): CheckpointSigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = importPrivate(material);
  } catch (error) {
    throw new ConfigError([{ path, message: (error as Error).message }]);
  }
  return { ...describe(privateKey), source: 'configured' };
}

function importPrivate(material: string | Record<string, unknown>): KeyObject {
  let key: KeyObject;
  try {
    if (typeof material === 'string' && material.trimStart().startsWith('-----BEGIN')) {
      key = createPrivateKey({ key: material, format: 'pem' });
    } else {
      const jwk = typeof material === 'string' ? (JSON.parse(material) as Record<string, unknown>) : material;
      key = createPrivateKey({ key: jwk as never, format: 'jwk' });
    }
  } catch {
    // Node's message is not passed on: it is not ours to promise it never quotes key data.
    throw new Error('not a private key: expected a PKCS#8 PEM or a private JWK');
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`must be an Ed25519 key (got ${key.asymmetricKeyType ?? 'an unknown type'})`);
  }
  return key;
}

function describe(privateKey: KeyObject): Pick<CheckpointSigningKey, 'kid' | 'publicJwk' | 'privateKey'> {
  const { x } = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicJwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: x! };
  return { kid: jwkThumbprint(publicJwk), publicJwk, privateKey };
}

/**
 * The generated key: read when it exists, else made and written owner-only. The file appears
 * complete or not at all (written aside, then hard-linked into place, which fails if another
 * process got there first: both then use the first one's key).
 */
function generatedKey(dir: string): CheckpointSigningKey {
  const file = join(dir, GENERATED_KEY_FILE);
  let pem = readIfPresent(file);
  if (pem === undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const fresh = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temp, fresh, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temp, file);
      pem = fresh;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      pem = readFileSync(file, 'utf8');
    } finally {
      rmSync(temp, { force: true });
    }
  }
  let privateKey: KeyObject;
  try {
    privateKey = importPrivate(pem);
  } catch (error) {
    throw new ConfigError([{ path: 'dataDir', message: `${file}: ${(error as Error).message}` }]);
  }
  return { ...describe(privateKey), source: 'generated', file };
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
