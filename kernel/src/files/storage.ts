import { InputError } from '../errors.js';
import { msg } from '../i18n/index.js';

/** What `createUploadUrl` is asked for: one object, its type, and the most bytes it may hold. */
export interface UploadRequest {
  /** The object's key in the module's namespace: segments of letters, digits, `.`, `_`, `-`, joined by `/`. */
  key: string;
  /** The only content type the upload may send (`image/png`), without parameters. */
  contentType: string;
  /** The most bytes the upload may send (local storage refuses more; check `stat` on S3, see below). */
  maxBytes: number;
  /** Lifetime of the URL; default `files.uploadUrlTtlSec`. */
  expiresInSec?: number;
}

/** Where and how a client sends an object's bytes (straight to storage, never through GraphQL). */
export interface UploadTicket {
  /** Absolute, or a path (`/files/…`) on the gateway's origin when `files.publicUrl` is unset. */
  url: string;
  method: 'PUT';
  /** Headers the client must send as given (the content type is signed). */
  headers: Record<string, string>;
  expiresAt: Date;
}

/** An object as stored, read from storage itself, never from what a client declared. */
export interface StoredFile {
  size: number;
  contentType: string;
}

/**
 * A module's files (`runtime.files`), namespaced to the module: the local file system under
 * `dataDir/files/<module>/` or an S3-compatible bucket under `<module>/`. Uploads and downloads go
 * by short-lived signed URLs. Sizes and types a client declared are promises only: check `stat`
 * (and the bytes, `readStart`) before trusting an upload. On S3, a presigned PUT cannot bound its
 * size, so `stat` is the check there.
 */
export interface FileStorage {
  readonly driver: 'local' | 's3';
  createUploadUrl(request: UploadRequest): Promise<UploadTicket>;
  /** The stored object's size and content type; null when there is none. */
  stat(key: string): Promise<StoredFile | null>;
  /** Up to `length` first bytes of the object (magic numbers); null when there is none. */
  readStart(key: string, length: number): Promise<Buffer | null>;
  /** A signed URL that reads the object for `expiresInSec` (default `files.downloadUrlTtlSec`). */
  downloadUrl(key: string, options?: { expiresInSec?: number }): Promise<string>;
  /** Removes the object; nothing happens when there is none. */
  delete(key: string): Promise<void>;
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Whether a key is acceptable: 1–8 segments, none starting with a dot (so no `..`), 512 characters at most. */
export function isFileKey(key: unknown): key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512) return false;
  const segments = key.split('/');
  return segments.length <= 8 && segments.every((segment) => SEGMENT.test(segment));
}

/** The key, or an InputError naming the rule it breaks. */
export function requireFileKey(key: string): string {
  if (!isFileKey(key)) {
    throw InputError.field('key', msg('errors:validation.fileKey'));
  }
  return key;
}

const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** A content type as signed and stored: lower case, without parameters. */
export function requireContentType(contentType: string): string {
  const type = contentType.trim().toLowerCase();
  if (!CONTENT_TYPE.test(type)) throw InputError.field('contentType', msg('errors:validation.contentType'));
  return type;
}

/** Checks an upload request against the platform's limits; returns the normalised type and lifetime. */
export function checkUploadRequest(
  request: UploadRequest,
  limits: { maxUploadBytes: number; defaultTtlSec: number },
): { key: string; contentType: string; maxBytes: number; expiresInSec: number } {
  const key = requireFileKey(request.key);
  const contentType = requireContentType(request.contentType);
  const { maxBytes } = request;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > limits.maxUploadBytes) {
    throw InputError.field('maxBytes', msg('errors:validation.maxBytes', { max: limits.maxUploadBytes }));
  }
  return { key, contentType, maxBytes, expiresInSec: lifetime(request.expiresInSec, limits.defaultTtlSec) };
}

/** A URL lifetime in whole seconds: the one asked for (1 s to 7 days), else the default. */
export function lifetime(asked: number | undefined, fallback: number): number {
  if (asked === undefined) return fallback;
  if (!Number.isInteger(asked) || asked < 1 || asked > 7 * 24 * 3600) {
    throw InputError.field('expiresInSec', msg('errors:validation.expiresInSec'));
  }
  return asked;
}
