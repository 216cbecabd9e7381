import { createHmac, sign, timingSafeEqual, verify } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import type { Checkpoint } from './checkpoint.store.js';
import type { KnownKey } from './key-ring.js';
import type { CheckpointSigningKey } from './signing-key.js';

/**
 * The text an Ed25519 checkpoint signature covers: every field but the signature, as canonical
 * JSON, with a type and version so the statement cannot be taken for anything else.
 */
export function checkpointStatement(c: Omit<Checkpoint, 'signature'>): string {
  return canonicalJson({
    type: 'audit-checkpoint',
    v: 1,
    kind: c.kind,
    seq: c.seq,
    hash: c.hash,
    firstSeq: c.firstSeq,
    pruned: c.pruned,
    archive: c.archive,
    archiveSha256: c.archiveSha256,
    createdAt: c.createdAt.toISOString(),
    keyId: c.keyId,
  });
}

/** Signs a checkpoint with this instance's key: the result carries `keyId` and a base64url signature. */
export function signCheckpoint(c: Omit<Checkpoint, 'signature' | 'keyId'>, key: CheckpointSigningKey): Checkpoint {
  const unsigned = { ...c, keyId: key.kid };
  const signature = sign(null, Buffer.from(checkpointStatement(unsigned), 'utf8'), key.privateKey).toString(
    'base64url',
  );
  return { ...unsigned, signature };
}

/** What the legacy HMAC (`modules.audit.checkpointKey`) covered, before checkpoints had kinds and key ids. */
function legacyText(c: Checkpoint): string {
  return canonicalJson({
    seq: c.seq,
    hash: c.hash,
    firstSeq: c.firstSeq,
    pruned: c.pruned,
    archive: c.archive,
    archiveSha256: c.archiveSha256,
    createdAt: c.createdAt.toISOString(),
  });
}

/** HMAC-SHA256 (hex) as prune checkpoints were signed before Ed25519; kept to verify those. */
export function legacyHmac(c: Checkpoint, key: string): string {
  return createHmac('sha256', key).update(legacyText(c), 'utf8').digest('hex');
}

export type SignatureCheck = { ok: true; signer: string } | { ok: false; why: string };

export interface TrustOptions {
  /** Every key a verifier has heard of: the database's table, an export's key lines, its own. */
  keys: readonly KnownKey[];
  /**
   * `modules.audit.trustedCheckpointKeys` (kids): when set, a signature by any other key is
   * refused, wherever the key came from. Null: every known key is trusted.
   */
  trusted: readonly string[] | null;
  /** The verifier's own signing key id, trusted whatever the list says. */
  ownKid?: string | null;
  /** `modules.audit.checkpointKey`: verifies legacy HMAC-signed prune checkpoints. */
  hmacKey?: string | null;
  /** `modules.audit.trustUnsignedCheckpointsThrough`: legacy unsigned prune checkpoints an operator vouches for. */
  trustUnsignedThrough?: number | null;
}

/** Decides whether a checkpoint carries a signature the verifier trusts, and says why not. */
export class CheckpointTrust {
  readonly #keys: Map<string, KnownKey>;
  readonly #o: TrustOptions;

  constructor(options: TrustOptions) {
    this.#o = options;
    this.#keys = new Map(options.keys.map((key) => [key.kid, key]));
  }

  /** The keys whose signatures count: every known key, or the trusted ones among them. */
  trustedKeys(): KnownKey[] {
    return [...this.#keys.values()].filter((key) => this.#isTrusted(key.kid));
  }

  check(c: Checkpoint): SignatureCheck {
    if (c.keyId !== null) {
      const key = this.#keys.get(c.keyId);
      if (!key) return { ok: false, why: `it names key ${c.keyId}, which is not a registered checkpoint key` };
      if (!this.#isTrusted(c.keyId)) {
        return { ok: false, why: `key ${c.keyId} is not among the trusted keys (modules.audit.trustedCheckpointKeys)` };
      }
      const signature = c.signature && /^[\w-]{86}$/.test(c.signature) ? Buffer.from(c.signature, 'base64url') : null;
      if (!signature || !verify(null, Buffer.from(checkpointStatement(c), 'utf8'), key.key, signature)) {
        return { ok: false, why: `its signature does not verify with key ${c.keyId}` };
      }
      return { ok: true, signer: c.keyId };
    }
    // Rows from before Ed25519: prune checkpoints, HMAC-signed or unsigned.
    if (c.kind === 'prune' && c.signature && /^[0-9a-f]{64}$/.test(c.signature)) {
      if (!this.#o.hmacKey)
        return { ok: false, why: 'it has an HMAC signature and no modules.audit.checkpointKey is set' };
      const expected = Buffer.from(legacyHmac(c, this.#o.hmacKey), 'hex');
      return timingSafeEqual(expected, Buffer.from(c.signature, 'hex'))
        ? { ok: true, signer: 'hmac' }
        : { ok: false, why: 'its HMAC signature does not match modules.audit.checkpointKey' };
    }
    if (c.signature === null && c.kind === 'prune' && c.seq <= (this.#o.trustUnsignedThrough ?? -1)) {
      return { ok: true, signer: 'trustUnsignedCheckpointsThrough' };
    }
    return { ok: false, why: c.signature === null ? 'it is unsigned' : 'its signature is of no known kind' };
  }

  #isTrusted(kid: string): boolean {
    return this.#o.trusted === null || kid === this.#o.ownKid || this.#o.trusted.includes(kid);
  }
}
