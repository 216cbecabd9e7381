import { createHmac, timingSafeEqual } from 'node:crypto';

/** What a local signed URL grants: one method on one object until `expires`, and for a PUT its type and size. */
export interface FileGrant {
  method: 'GET' | 'PUT';
  module: string;
  key: string;
  /** Unix seconds. */
  expires: number;
  contentType?: string;
  maxBytes?: number;
}

/** Signs and checks the grants of local signed URLs with a key derived from the deployment's service secret. */
export class FileSigner {
  readonly #secret: () => string;
  #derived: Buffer | undefined;

  /**
   * `serviceSecret` may be a function: it is read at the first signature or check, so a runtime that
   * never signs (a command-line job in production without the secret) does not need it.
   */
  constructor(serviceSecret: string | (() => string)) {
    this.#secret = typeof serviceSecret === 'string' ? () => serviceSecret : serviceSecret;
  }

  get #key(): Buffer {
    // A key of its own: a file signature is never valid as anything else the secret signs.
    return (this.#derived ??= createHmac('sha256', this.#secret()).update('platform.files.v1').digest());
  }

  sign(grant: FileGrant): string {
    const text = [
      grant.method,
      grant.module,
      grant.key,
      String(grant.expires),
      grant.contentType ?? '',
      grant.maxBytes === undefined ? '' : String(grant.maxBytes),
    ].join('\n');
    return createHmac('sha256', this.#key).update(text).digest('base64url');
  }

  /** Whether `signature` signs exactly this grant and it has not expired at `now` (ms). */
  verify(grant: FileGrant, signature: unknown, now = Date.now()): boolean {
    if (typeof signature !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(signature)) return false;
    if (!Number.isSafeInteger(grant.expires) || grant.expires * 1000 <= now) return false;
    const expected = Buffer.from(this.sign(grant));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

/** The path a module's object is served at, on the subgraph and (forwarded) on the gateway. */
export function filePath(module: string, key: string): string {
  return `/files/${module}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
