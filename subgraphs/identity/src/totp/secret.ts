import { randomBytes } from 'node:crypto';
import { ScureBase32Plugin } from 'otplib';
import type { KeyEncryption } from '../keys/key-encryption.js';

const base32 = new ScureBase32Plugin();

/** 20 random bytes (160 bits, RFC 4226's recommendation), as authenticator apps take them: Base32. */
export function newTotpSecret(): { bytes: Uint8Array; base32: string } {
  const bytes = new Uint8Array(randomBytes(20));
  return { bytes, base32: base32.encode(bytes, { padding: false }) };
}

/** What the ciphertext is bound to (the JWE's authenticated `skid`): a row copied to another user fails. */
const bindingOf = (userId: string): string => `totp:${userId.toLowerCase()}`;

/**
 * TOTP secrets at rest, encrypted as identity's signing keys are (`KeyEncryption`: JWE `dir` +
 * A256GCM under `modules.identity.keys.encryptionKey`, earlier keys still decrypting). The
 * encryption is opened on first use, so a deployment that never enrols anyone needs no key.
 */
export class TotpSecrets {
  #encryption?: Promise<KeyEncryption>;

  constructor(private readonly open: () => Promise<KeyEncryption>) {}

  private encryption(): Promise<KeyEncryption> {
    this.#encryption ??= this.open().catch((error: unknown) => {
      this.#encryption = undefined; // a configuration fixed later is picked up on the next use
      throw error;
    });
    return this.#encryption;
  }

  async seal(userId: string, secret: Uint8Array): Promise<{ jwe: string; kekId: string }> {
    const jwk = { kty: 'oct', k: Buffer.from(secret).toString('base64url') };
    return (await this.encryption()).encrypt(bindingOf(userId), jwk);
  }

  /**
   * The secret, and its ciphertext under the current key-encryption key when it was written under
   * a previous one (store it: rotated keys can be dropped once nothing is written under them).
   */
  async unseal(
    userId: string,
    jwe: string,
  ): Promise<{ secret: Uint8Array; resealed?: { jwe: string; kekId: string } }> {
    const encryption = await this.encryption();
    const { jwk, kekId } = await encryption.decrypt(bindingOf(userId), jwe);
    const secret = new Uint8Array(Buffer.from(String(jwk.k), 'base64url'));
    if (kekId === encryption.currentId) return { secret };
    return { secret, resealed: await this.seal(userId, secret) };
  }
}
