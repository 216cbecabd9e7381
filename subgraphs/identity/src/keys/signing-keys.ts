import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { ConflictError, type Logger } from '@platform/kernel';
import {
  loadConfigured,
  SIGNING_ALG,
  importSigningKey,
  writePrivateFile,
  type ConfiguredSigningKey,
  type KeyEntry,
  type PublicSigningJwk,
} from './key-material.js';

export { SIGNING_ALG, type ConfiguredSigningKey, type PublicSigningJwk } from './key-material.js';

export interface SigningKeysOptions {
  /** `DATA_DIR/identity/keys/`; null with no `configured` keys means one key in memory only. */
  dir: string | null;
  /** Keys shared by every replica; when given, `dir` is not used. The first one signs, the rest only verify. */
  configured?: ConfiguredSigningKey[];
  /** Age at which `open` (and `rotateIfDue`) replaces the current key. */
  rotateAfterDays?: number;
  /** How long a replaced key stays published; at least the longest token lifetime. */
  retainAfterRotationSec?: number;
  logger: Logger;
  /** Milliseconds since the epoch; tests move it forward. */
  now?: () => number;
}

/** What is stored per key in `dir`: `<kid>.json`, mode 0600. */
interface KeyFile {
  kid: string;
  createdAt: string;
  privateJwk: JWK;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * The Ed25519 keys that sign access tokens. The newest key signs; keys it replaced stay in the
 * JWKS for `retainAfterRotationSec`, so tokens signed before a rotation verify until they expire.
 * Private material never leaves this class except as the CryptoKey `current()` hands out, and is
 * never logged.
 */
export class SigningKeys {
  /** Newest first. */
  private entries: KeyEntry[] = [];
  private pending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly dir: string | null,
    private readonly fromConfig: boolean,
    private readonly rotateAfterMs: number,
    private readonly retainMs: number,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /** Loads keys from config or `dir`, creating the first key, rotating a stale one and pruning expired ones. */
  static async open(options: SigningKeysOptions): Promise<SigningKeys> {
    const logger = options.logger.child({ component: 'signing-keys' });
    const configured = options.configured;
    const keys = new SigningKeys(
      configured ? null : options.dir,
      Boolean(configured),
      (options.rotateAfterDays ?? 30) * DAY_MS,
      (options.retainAfterRotationSec ?? 7 * 24 * 3600) * 1000,
      logger,
      options.now ?? Date.now,
    );
    if (configured) {
      keys.entries = await loadConfigured(configured);
      logger.info({ kid: keys.entries[0]!.kid, count: keys.entries.length }, 'signing keys loaded from config');
      return keys;
    }
    if (options.dir) {
      await mkdir(options.dir, { recursive: true, mode: 0o700 });
      keys.entries = await keys.loadDir(options.dir);
    } else {
      logger.warn('no key directory: signing key kept in memory, tokens will not survive a restart');
    }
    if (!keys.entries.length) {
      const entry = await keys.create();
      logger.info({ kid: entry.kid }, 'signing key created');
    } else {
      await keys.rotateIfDue();
      await keys.prune();
      logger.info({ kid: keys.current().kid, count: keys.entries.length }, 'signing keys loaded');
    }
    return keys;
  }

  /** The key to sign with now. */
  current(): { kid: string; privateKey: CryptoKey } {
    const { kid, privateKey } = this.entries[0]!;
    return { kid, privateKey };
  }

  /** The public JWKS: the current key and replaced keys still inside their retention. */
  jwks(): { keys: PublicSigningJwk[] } {
    return { keys: this.live().map((entry) => ({ ...entry.publicJwk })) };
  }

  /**
   * Makes a new current key; the previous one stays published for the retention period.
   * With configured keys this is a ConflictError: they are rotated in the secret store.
   */
  rotate(): Promise<{ kid: string; previousKid: string }> {
    return this.serialized(() => this.rotateNow());
  }

  /** Rotates when the current key is older than `rotateAfterDays`; a long-running service calls this on a timer. */
  rotateIfDue(): Promise<boolean> {
    return this.serialized(async () => {
      if (this.fromConfig || this.now() - this.entries[0]!.createdAt < this.rotateAfterMs) return false;
      await this.rotateNow();
      return true;
    });
  }

  /** Forgets replaced keys whose retention has passed and deletes their files. */
  prune(): Promise<void> {
    return this.serialized(() => this.pruneNow());
  }

  private live(): KeyEntry[] {
    // Configured keys are all published until the operator removes them from config.
    if (this.fromConfig) return this.entries;
    const now = this.now();
    // A replaced key retires when its successor is created.
    return this.entries.filter((entry, i) => i === 0 || now < this.entries[i - 1]!.createdAt + this.retainMs);
  }

  private async rotateNow(): Promise<{ kid: string; previousKid: string }> {
    if (this.fromConfig) throw new ConflictError('signing keys come from config: rotate them in the secret store');
    const previousKid = this.entries[0]!.kid;
    const { kid } = await this.create();
    this.logger.info({ kid, previousKid }, 'signing key rotated');
    await this.pruneNow();
    return { kid, previousKid };
  }

  private async pruneNow(): Promise<void> {
    const live = new Set(this.live());
    for (const entry of this.entries.filter((e) => !live.has(e))) {
      if (entry.file) await rm(entry.file, { force: true });
      this.logger.info({ kid: entry.kid }, 'expired signing key removed');
    }
    this.entries = this.entries.filter((e) => live.has(e));
  }

  private async create(): Promise<KeyEntry> {
    const { privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(privateJwk);
    // Never earlier than the key it replaces, so "newest" stays well defined if the clock steps back.
    const createdAt = Math.max(this.now(), (this.entries[0]?.createdAt ?? 0) + 1);
    const entry = await importSigningKey(kid, createdAt, privateJwk);
    if (this.dir) {
      entry.file = join(this.dir, `${kid}.json`);
      const content: KeyFile = { kid, createdAt: new Date(createdAt).toISOString(), privateJwk };
      await writePrivateFile(entry.file, JSON.stringify(content, null, 2) + '\n');
    }
    this.entries.unshift(entry);
    return entry;
  }

  private async loadDir(dir: string): Promise<KeyEntry[]> {
    const entries: KeyEntry[] = [];
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.'))) {
      const file = join(dir, name);
      try {
        const data = parseKeyFile(await readFile(file, 'utf8'));
        if ((await calculateJwkThumbprint(data.privateJwk)) !== data.kid) {
          throw new Error('kid is not the key thumbprint');
        }
        const createdAt = Date.parse(data.createdAt);
        const entry = await importSigningKey(data.kid, createdAt, data.privateJwk);
        entry.file = file;
        entries.push(entry);
        const mode = (await stat(file)).mode & 0o777;
        if (mode & 0o077) this.logger.warn({ file, mode: mode.toString(8) }, 'signing key file is readable by others');
      } catch (error) {
        this.logger.warn({ file, reason: (error as Error).message }, 'unusable signing key file skipped');
      }
    }
    return entries.sort((a, b) => b.createdAt - a.createdAt || a.kid.localeCompare(b.kid));
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const result = this.pending.then(task);
    this.pending = result.catch(() => undefined);
    return result;
  }
}

/** Reads a key file; errors never quote the content (V8's JSON errors would, and it is a private key). */
function parseKeyFile(text: string): KeyFile {
  let data: Partial<KeyFile>;
  try {
    data = JSON.parse(text) as Partial<KeyFile>;
  } catch {
    throw new Error('not valid JSON');
  }
  if (
    typeof data.kid !== 'string' ||
    Number.isNaN(Date.parse(String(data.createdAt))) ||
    typeof data.privateJwk !== 'object' ||
    data.privateJwk === null
  ) {
    throw new Error('expected { kid, createdAt, privateJwk }');
  }
  return data as KeyFile;
}

/** Who the token is for: the user (`sub`) and the session it belongs to (`sid`, for revocation). */
export interface AccessTokenClaims {
  sub: string;
  sid: string;
}

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSec: number;
}

/**
 * A short-lived JWT signed with the current key: header `{ alg: 'EdDSA', kid, typ: 'JWT' }`,
 * claims `sub`, `sid`, `iat`, `exp`, `iss`, `aud` and a unique `jti`. Verifiers find the key
 * by `kid` in `SigningKeys.jwks()`.
 */
export async function signAccessToken(
  keys: SigningKeys,
  claims: AccessTokenClaims,
  options: AccessTokenOptions,
): Promise<{ token: string; expiresIn: number }> {
  const { kid, privateKey } = keys.current();
  const issuedAt = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sid: claims.sid })
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + options.ttlSec)
    .setJti(randomUUID())
    .sign(privateKey);
  return { token, expiresIn: options.ttlSec };
}
