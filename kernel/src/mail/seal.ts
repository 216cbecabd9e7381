import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * A mail's data waits in the job store (the module's database or Redis) until it is sent, and
 * stays there for the retention of done and dead jobs. It often carries what the module itself
 * keeps only hashed (a password-reset link), so it is stored sealed: AES-256-GCM under a key
 * derived from the deployment's service secret, bound to the mail it belongs to.
 */
export class MailSeal {
  readonly #key: () => Buffer;

  /** `secret`: the deployment's service secret, read when first needed. */
  constructor(secret: () => string) {
    let key: Buffer | undefined;
    this.#key = () => (key ??= Buffer.from(hkdfSync('sha256', secret(), 'platform', 'kernel mail data v1', 32)));
  }

  /** `data` as JSON, encrypted and authenticated together with `boundTo` (not stored). */
  seal(data: unknown, boundTo: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key(), iv);
    cipher.setAAD(Buffer.from(boundTo));
    const body = Buffer.concat([cipher.update(JSON.stringify(data) ?? 'null', 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** What `seal` sealed for the same `boundTo`; throws when it was altered, moved or sealed under another secret. */
  open(sealed: string, boundTo: string): unknown {
    const bytes = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.#key(), bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(boundTo));
    decipher.setAuthTag(bytes.subarray(12, 28));
    const json = Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(json) as unknown;
  }
}
