import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { KeyEncryption, KeyDecryptionError } from '../keys/key-encryption.js';
import { newTotpSecret, TotpSecrets } from './secret.js';

const ADA = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';

describe('TotpSecrets', () => {
  const encryption = new KeyEncryption(randomBytes(32));
  const secrets = new TotpSecrets(async () => encryption);

  it('seals a secret so that only its user opens it', async () => {
    const { bytes } = newTotpSecret();
    const sealed = await secrets.seal(ADA, bytes);
    expect(sealed.kekId).toBe(encryption.currentId);
    expect(sealed.jwe).not.toContain(Buffer.from(bytes).toString('base64url'));
    expect(await secrets.unseal(ADA, sealed.jwe)).toEqual({ secret: bytes });
    // A ciphertext copied onto another user's row does not open there.
    await expect(secrets.unseal(BOB, sealed.jwe)).rejects.toBeInstanceOf(KeyDecryptionError);
  });

  it('re-encrypts under the current key-encryption key a secret written under a previous one', async () => {
    const previous = randomBytes(32);
    const { bytes } = newTotpSecret();
    const old = await new TotpSecrets(async () => new KeyEncryption(previous)).seal(ADA, bytes);
    const rotated = new KeyEncryption(randomBytes(32), [previous]);
    const opened = await new TotpSecrets(async () => rotated).unseal(ADA, old.jwe);
    expect(opened.secret).toEqual(bytes);
    expect(opened.resealed!.kekId).toBe(rotated.currentId);
    expect(
      await new TotpSecrets(async () => new KeyEncryption(randomBytes(32), [previous])).unseal(ADA, old.jwe),
    ).toEqual(expect.objectContaining({ secret: bytes }));
    // The new ciphertext needs only the current key.
    const current = new TotpSecrets(async () => rotated);
    expect(await current.unseal(ADA, opened.resealed!.jwe)).toEqual({ secret: bytes });
  });

  it('opens the encryption once, and again after it failed', async () => {
    let opened = 0;
    let fail = true;
    const lazy = new TotpSecrets(async () => {
      opened++;
      if (fail) throw new Error('no key-encryption key');
      return encryption;
    });
    const { bytes } = newTotpSecret();
    await expect(lazy.seal(ADA, bytes)).rejects.toThrow('no key-encryption key');
    fail = false;
    const sealed = await lazy.seal(ADA, bytes);
    await lazy.unseal(ADA, sealed.jwe);
    expect(opened).toBe(2);
  });

  it('makes 160-bit secrets in Base32, as authenticator apps take them', () => {
    const { bytes, base32 } = newTotpSecret();
    expect(bytes).toHaveLength(20);
    expect(base32).toMatch(/^[A-Z2-7]{32}$/);
  });
});
