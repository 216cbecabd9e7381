import { calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { ConflictError, type ConfigError, type Logger, type EntityManager } from '@platform/kernel';
import { importKeyFiles } from './file-keys.js';
import { undecryptableKeys, type KeyEncryption } from './key-encryption.js';
import { expiredKids, keyStates, retiredAt, signerIndex, type KeyState } from './key-lifecycle.js';
import {
  loadConfigured,
  SIGNING_ALG,
  importSigningKey,
  type ConfiguredSigningKey,
  type KeyEntry,
  type PublicSigningJwk,
} from './key-material.js';
import { KeyStore, type KeyOrigin, type KeyRow } from './key-store.js';

export { SIGNING_ALG, type ConfiguredSigningKey, type PublicSigningJwk } from './key-material.js';
export { signAccessToken, type AccessTokenClaims, type AccessTokenOptions } from './access-token.js';

export interface SigningKeysOptions {
  /** identity's database: its schema holds `signing_key`. Not used with `configured` keys. */
  db?: { fork(): EntityManager; schema: string } | null;
  /** Encrypts private keys at rest; required with `db`. */
  encryption?: KeyEncryption | null;
  /** `DATA_DIR/identity/keys/`: key files of earlier versions, imported into the database once, then deleted. */
  importDir?: string | null;
  /** Keys shared by every replica from a secret store; when given, the database is not used. The first one signs. */
  configured?: ConfiguredSigningKey[];
  /** Age of the newest key at which `rotateIfDue` creates the next one. Default 30 days. */
  rotateAfterDays?: number;
  /** How long a scheduled key is published before it signs (longer than any JWKS cache). Default 3600 s. */
  publishLeadSec?: number;
  /** How long a retired key stays published: the longest token lifetime plus clock skew. Default 7 days. */
  retainAfterRotationSec?: number;
  logger: Logger;
  /** Milliseconds since the epoch; tests move it forward. */
  now?: () => number;
}

/**
 * A key as this instance holds it: its row, and its private half when this instance could
 * decrypt it. Only such keys count: a row whose ciphertext does not decrypt here is listed but
 * neither published, nor signs, nor retires other keys, so writing to the table without the
 * key-encryption key cannot slip a verification key into the JWKS.
 */
interface Held extends Omit<KeyRow, 'privateJwe'> {
  privateKey?: CryptoKey;
}

type Usable = Held & { privateKey: CryptoKey };

/** A key as `platformctl keys list` shows it; nothing private. */
export interface SigningKeyInfo {
  kid: string;
  state: KeyState;
  origin: KeyOrigin | 'configured';
  createdAt: Date;
  activatesAt: Date;
  /** When it stopped signing; null while it signs or waits to. */
  retiredAt: Date | null;
  /** When it leaves the JWKS and the table; null while not retired. */
  removeAfter: Date | null;
  /** The key-encryption key its private half is stored under; null for configured keys. */
  kekId: string | null;
  /** Whether this instance could decrypt it. */
  usable: boolean;
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * The Ed25519 keys that sign access tokens, shared by every identity instance through the
 * `signing_key` table (private halves encrypted under the key-encryption key). Each instance
 * holds a copy it re-reads every few seconds (`refresh`), so all publish the same JWKS and sign
 * with the same key: the newest one whose activation time has come. A scheduled key is published
 * `publishLeadSec` before it signs, so every verifier's cached JWKS has it before any token needs
 * it; a key it replaced stays published for `retainAfterRotationSec`, then any instance deletes
 * it. Creating and deleting keys happens under the table's lock, so of N instances finding a
 * rotation due at once exactly one creates the key. Private material is never logged.
 */
export class SigningKeys {
  /** Every row, newest (by createdAt) first. */
  private held: Held[] = [];
  /** The rows this instance could decrypt, newest first: the only ones that count. */
  private usable: Usable[] = [];
  private configured: KeyEntry[] | null = null;
  private readonly warned = new Set<string>();
  private pending: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: { fork(): EntityManager; schema: string } | null,
    private readonly encryption: KeyEncryption | null,
    private readonly store: KeyStore | null,
    private readonly rotateAfterMs: number,
    private readonly leadMs: number,
    private readonly retainMs: number,
    private readonly logger: Logger,
    private readonly now: () => number,
  ) {}

  /**
   * Loads configured keys, or: imports key files of earlier versions, reads the table, creates
   * the first key when there is none, rotates when due and prunes. A table whose keys this
   * instance cannot decrypt is a ConfigError naming the key-encryption setting.
   */
  static async open(options: SigningKeysOptions): Promise<SigningKeys> {
    const logger = options.logger.child({ component: 'signing-keys' });
    const fromConfig = Boolean(options.configured);
    if (!fromConfig && (!options.db || !options.encryption)) {
      throw new Error('SigningKeys needs a database and a key encryption, or configured keys');
    }
    const keys = new SigningKeys(
      fromConfig ? null : options.db!,
      fromConfig ? null : options.encryption!,
      fromConfig ? null : new KeyStore(options.db!.schema),
      (options.rotateAfterDays ?? 30) * DAY_MS,
      (options.publishLeadSec ?? 3600) * 1000,
      (options.retainAfterRotationSec ?? 7 * 24 * 3600) * 1000,
      logger,
      options.now ?? Date.now,
    );
    if (options.configured) {
      keys.configured = await loadConfigured(options.configured);
      logger.info({ kid: keys.configured[0]!.kid, count: keys.configured.length }, 'signing keys loaded from config');
      return keys;
    }
    if (options.importDir) {
      await importKeyFiles(options.importDir, {
        db: options.db!,
        encryption: options.encryption!,
        logger,
        now: keys.now,
      });
    }
    await keys.load();
    if (!keys.held.length) await keys.create('initial', 0, { onlyIfEmpty: true });
    if (!keys.usable.length) throw keys.undecryptable();
    await keys.rotateIfDue();
    await keys.prune();
    logger.info({ kid: keys.current().kid, count: keys.held.length }, 'signing keys loaded');
    return keys;
  }

  /** The key to sign with now. */
  current(): { kid: string; privateKey: CryptoKey } {
    if (this.configured) return { kid: this.configured[0]!.kid, privateKey: this.configured[0]!.privateKey };
    const index = signerIndex(this.usable, this.now());
    if (index < 0) throw this.undecryptable();
    const { kid, privateKey } = this.usable[index]!;
    return { kid, privateKey };
  }

  /** The public JWKS: every key in the table not past its retention (scheduled ones included), newest first. */
  jwks(): { keys: PublicSigningJwk[] } {
    if (this.configured) return { keys: this.configured.map((entry) => ({ ...entry.publicJwk })) };
    const expired = new Set(expiredKids(this.usable, this.now(), this.retainMs));
    return { keys: this.usable.filter((key) => !expired.has(key.kid)).map((key) => ({ ...key.publicJwk })) };
  }

  /** Every key with its state, as this instance last read them. */
  list(): SigningKeyInfo[] {
    const now = this.now();
    if (this.configured) {
      return this.configured.map((entry, i) => ({
        kid: entry.kid,
        state: i === 0 ? 'signing' : 'retired',
        origin: 'configured',
        createdAt: new Date(entry.createdAt),
        activatesAt: new Date(entry.createdAt),
        retiredAt: null,
        removeAfter: null,
        kekId: null,
        usable: true,
      }));
    }
    const states = keyStates(this.usable, now, this.retainMs);
    return this.held.map((key) => {
      const i = this.usable.findIndex((usable) => usable.kid === key.kid);
      const retired = i < 0 ? null : retiredAt(this.usable, i, now);
      return {
        kid: key.kid,
        state: i < 0 ? 'unusable' : states[i]!,
        origin: key.origin,
        createdAt: new Date(key.createdAt),
        activatesAt: new Date(key.activatesAt),
        retiredAt: retired === null ? null : new Date(retired),
        removeAfter: retired === null ? null : new Date(retired + this.retainMs),
        kekId: key.kekId,
        usable: Boolean(key.privateKey),
      };
    });
  }

  /**
   * Creates a new key, signing after `activateAfterSec` (default 0: at once on this instance, and
   * on the others at their next refresh; verifiers fetch the JWKS again on an unknown kid). The
   * key it replaces stays published for the retention period. With configured keys this is a
   * ConflictError: they are rotated in the secret store.
   */
  rotate(
    options: { activateAfterSec?: number } = {},
  ): Promise<{ kid: string; previousKid: string; activatesAt: Date }> {
    return this.serialized(async () => {
      if (this.configured) throw new ConflictError('signing keys come from config: rotate them in the secret store');
      await this.load();
      const previousKid = this.current().kid;
      const row = await this.create('manual', (options.activateAfterSec ?? 0) * 1000);
      this.logger.info({ kid: row!.kid, previousKid, activatesAt: new Date(row!.activatesAt) }, 'signing key rotated');
      return { kid: row!.kid, previousKid, activatesAt: new Date(row!.activatesAt) };
    });
  }

  /**
   * Creates the next key when the newest is older than `rotateAfterDays`, activating after the
   * publish lead (or one signing at once when the table is empty). Of instances calling this at once, one creates the key (true), the others
   * find it made (false).
   */
  rotateIfDue(): Promise<boolean> {
    return this.serialized(async () => {
      if (this.configured) return false;
      // Someone emptied the table: a key at once, as at the first start (nothing signs otherwise).
      if (!this.held.length) return (await this.create('initial', 0, { onlyIfEmpty: true })) !== null;
      if (!this.due(this.held[0]!.createdAt)) return false;
      const row = await this.create('scheduled', this.leadMs, { onlyIfDue: true });
      if (!row) return false;
      this.logger.info({ kid: row.kid, activatesAt: new Date(row.activatesAt) }, 'signing key created by schedule');
      return true;
    });
  }

  /** Deletes keys whose retention has passed (whichever instance gets there first; idempotent). */
  prune(): Promise<string[]> {
    return this.serialized(async () => {
      if (this.configured || !expiredKids(this.usable, this.now(), this.retainMs).length) return [];
      const usable = new Set(this.usable.map((key) => key.kid));
      const removed = await this.db!.fork().transactional(async (tx) => {
        await this.store!.lock(tx);
        // Judged on the rows this instance could decrypt (keys newer than its last read can only
        // retire others sooner, so leaving them out errs on keeping keys).
        const rows = (await this.store!.all(tx)).filter((row) => usable.has(row.kid));
        const kids = expiredKids(rows, this.now(), this.retainMs);
        await this.store!.delete(tx, kids);
        return kids;
      });
      for (const kid of removed) this.logger.info({ kid }, 'expired signing key removed');
      await this.load();
      return removed;
    });
  }

  /** Reads the table again: keys other instances created, rotated or removed; re-encrypts under a new KEK. */
  refresh(): Promise<void> {
    return this.serialized(() => this.load());
  }

  /** The periodic work of a running instance: refresh, rotate when due, prune. */
  async maintain(): Promise<void> {
    await this.refresh();
    await this.rotateIfDue();
    await this.prune();
  }

  private due(newestCreatedAt: number | undefined): boolean {
    return newestCreatedAt !== undefined && this.now() - newestCreatedAt >= this.rotateAfterMs;
  }

  /**
   * Generates and stores a key activating `activateAfterMs` from now, under the table lock; with
   * `onlyIfEmpty`/`onlyIfDue`, only when the table (as the lock lets this transaction see it) is
   * still empty or still due, else null. Reloads the table afterwards.
   */
  private async create(
    origin: KeyOrigin,
    activateAfterMs: number,
    when: { onlyIfEmpty?: boolean; onlyIfDue?: boolean } = {},
  ): Promise<KeyRow | null> {
    const { privateKey } = await generateKeyPair(SIGNING_ALG, { crv: 'Ed25519', extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(privateJwk);
    const { publicJwk } = await importSigningKey(kid, 0, privateJwk);
    const { jwe, kekId } = await this.encryption!.encrypt(kid, privateJwk);
    const row = await this.db!.fork().transactional(async (tx) => {
      await this.store!.lock(tx);
      const [newest] = await this.store!.all(tx);
      if (when.onlyIfEmpty && newest) return null;
      if (when.onlyIfDue && !this.due(newest?.createdAt)) return null;
      // Never earlier than the key it follows, so "newest" stays well defined if the clock steps back.
      const createdAt = Math.max(this.now(), (newest?.createdAt ?? 0) + 1);
      const created: KeyRow = {
        kid,
        publicJwk,
        privateJwe: jwe,
        kekId,
        origin,
        createdAt,
        activatesAt: createdAt + activateAfterMs,
        publishedAt: createdAt,
      };
      await this.store!.insert(tx, created);
      return created;
    });
    if (row && origin === 'initial') this.logger.info({ kid }, 'signing key created');
    await this.load();
    return row;
  }

  /** Reads every row, decrypting (and, under an old KEK, re-encrypting) the keys not held yet. */
  private async load(): Promise<void> {
    const rows = await this.store!.all(this.db!.fork());
    const known = new Map(this.held.map((key) => [key.kid, key]));
    const held: Held[] = [];
    for (const { privateJwe, ...row } of rows) {
      const previous = known.get(row.kid);
      // A kid is its key's thumbprint: a key decrypted once is the same key whatever its row says since.
      if (previous?.privateKey) {
        held.push({ ...row, publicJwk: previous.publicJwk, privateKey: previous.privateKey });
        continue;
      }
      try {
        const publicJwk = await checkedPublicJwk(row.kid, row.publicJwk);
        const privateKey = await this.decrypt({ ...row, privateJwe }, publicJwk);
        held.push({ ...row, publicJwk, privateKey });
      } catch (error) {
        if (!this.warned.has(row.kid)) {
          this.warned.add(row.kid);
          this.logger.error({ kid: row.kid, reason: (error as Error).message }, 'signing key unusable here');
        }
        held.push(row);
      }
    }
    this.held = held;
    this.usable = held.filter((key): key is Usable => key.privateKey !== undefined);
  }

  private async decrypt(row: KeyRow, publicJwk: PublicSigningJwk): Promise<CryptoKey> {
    const { jwk, kekId } = await this.encryption!.decrypt(row.kid, row.privateJwe);
    const entry = await importSigningKey(row.kid, row.createdAt, jwk);
    if (entry.publicJwk.x !== publicJwk.x) throw new Error('the private key does not belong to the public key');
    if (kekId !== this.encryption!.currentId) {
      const { jwe, kekId: to } = await this.encryption!.encrypt(row.kid, jwk);
      if (await this.store!.reencrypt(this.db!.fork(), row.kid, kekId, jwe, to)) {
        this.logger.info(
          { kid: row.kid, from: kekId, to },
          'signing key re-encrypted under the current key-encryption key',
        );
      }
    }
    return entry.privateKey;
  }

  private undecryptable(): ConfigError {
    return undecryptableKeys(
      this.held.map((key) => key.kekId),
      this.encryption?.currentId ?? null,
    );
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const result = this.pending.then(task);
    this.pending = result.catch(() => undefined);
    return result;
  }
}

/** The public JWK a row publishes, rebuilt from its `x` and checked against its kid (the thumbprint). */
async function checkedPublicJwk(kid: string, stored: PublicSigningJwk | null): Promise<PublicSigningJwk> {
  if (stored?.kty !== 'OKP' || stored.crv !== 'Ed25519' || typeof stored.x !== 'string') {
    throw new Error('the stored public key is not an Ed25519 JWK');
  }
  const jwk: JWK = { kty: 'OKP', crv: 'Ed25519', x: stored.x };
  if ((await calculateJwkThumbprint(jwk)) !== kid) throw new Error('kid is not the public key thumbprint');
  return Object.freeze({ kty: 'OKP', crv: 'Ed25519', x: stored.x, kid, alg: SIGNING_ALG, use: 'sig' } as const);
}
