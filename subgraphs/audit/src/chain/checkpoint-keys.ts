import type { EntityManager, Logger, ModuleDatabase } from '@platform/kernel';
import { auditTables, type AuditTables } from './chain.store.js';
import { CheckpointTrust } from './checkpoint-signature.js';
import { registerKey, registeredKeys } from './key.store.js';
import type { KnownKey } from './key-ring.js';
import { loadSigningKey, type CheckpointSigningKey, type SigningKeyOptions } from './signing-key.js';

export interface CheckpointKeysOptions extends SigningKeyOptions {
  db: ModuleDatabase;
  /** `modules.audit.trustedCheckpointKeys`: kids; null trusts every registered key. */
  trusted: readonly string[] | null;
  /** `modules.audit.checkpointKey` (legacy HMAC). */
  hmacKey: string | null;
  /** `modules.audit.trustUnsignedCheckpointsThrough`. */
  trustUnsignedThrough: number | null;
  logger: Logger;
}

/** A key as `/.well-known/audit-keys` and exports publish it: a public JWK with its kid. */
export interface PublishedKey {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
  /** When the key was registered (ISO-8601). */
  createdAt: string | null;
}

/**
 * The checkpoint keys of one audit instance: its own signing key, loaded (or generated) and
 * registered in the database on first use, so that every instance, `platformctl` and outside
 * verifiers find its public half; and the trust a verification applies to every registered key.
 * Verifying never loads or creates a private key (`platformctl audit verify` needs none).
 */
export class CheckpointKeys {
  readonly #o: CheckpointKeysOptions;
  readonly #tables: AuditTables;
  readonly #logger: Logger;
  #own: Promise<CheckpointSigningKey> | undefined;
  #ownKid: string | null = null;

  constructor(options: CheckpointKeysOptions) {
    this.#o = options;
    this.#tables = auditTables(options.db.schema);
    this.#logger = options.logger.child({ component: 'audit-checkpoint-keys' });
  }

  /** This instance's signing key, registered; a failed registration is retried on the next call. */
  own(): Promise<CheckpointSigningKey> {
    this.#own ??= this.#loadAndRegister().catch((error: unknown) => {
      this.#own = undefined;
      throw error;
    });
    return this.#own;
  }

  /** How a verification judges checkpoint signatures, with the keys registered now. */
  async trust(em: EntityManager = this.#o.db.fork()): Promise<CheckpointTrust> {
    return new CheckpointTrust({
      keys: await registeredKeys(em, this.#tables, this.#logger),
      trusted: this.#o.trusted,
      ownKid: this.#ownKid,
      hmacKey: this.#o.hmacKey,
      trustUnsignedThrough: this.#o.trustUnsignedThrough,
    });
  }

  /** The public keys a verifier should accept (JWKS-like): the trusted registered keys. */
  async published(em: EntityManager = this.#o.db.fork()): Promise<PublishedKey[]> {
    return (await this.trust(em)).trustedKeys().map(publish);
  }

  async #loadAndRegister(): Promise<CheckpointSigningKey> {
    const key = loadSigningKey(this.#o);
    await registerKey(this.#o.db.fork(), this.#tables, key.kid, key.publicJwk);
    this.#ownKid = key.kid;
    if (this.#o.trusted && !this.#o.trusted.includes(key.kid)) {
      this.#logger.warn(
        { kid: key.kid },
        'this instance signs checkpoints with a key missing from modules.audit.trustedCheckpointKeys: other verifiers will refuse them',
      );
    }
    this.#logger.info({ kid: key.kid, source: key.source }, 'audit checkpoint signing key ready');
    return key;
  }
}

export function publish(key: KnownKey): PublishedKey {
  return {
    ...key.jwk,
    kid: key.kid,
    alg: 'EdDSA',
    use: 'sig',
    createdAt: key.createdAt?.toISOString() ?? null,
  };
}

/** Where audit serves its trusted public checkpoint keys. */
export const AUDIT_KEYS_PATH = '/.well-known/audit-keys';
