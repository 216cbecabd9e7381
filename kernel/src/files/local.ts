import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FileSigner, filePath } from './signing.js';
import {
  checkUploadRequest,
  lifetime,
  requireFileKey,
  type FileStorage,
  type StoredFile,
  type UploadRequest,
  type UploadTicket,
} from './storage.js';

export interface LocalFileStorageOptions {
  module: string;
  /** `dataDir/files`: each module's objects live in its own directory below. */
  root: string;
  /** The deployment's service secret (signs the URLs), or how to read it when the first URL is signed. */
  secret: string | (() => string);
  /** Absolute URLs on this origin (the gateway's public one); unset: paths on the origin the client called. */
  publicUrl?: string | null;
  maxUploadBytes: number;
  uploadUrlTtlSec: number;
  downloadUrlTtlSec: number;
}

/**
 * Files on the local file system under `<root>/<module>/`: objects in `objects/`, their content
 * type in `meta/` (what the verified upload carried), uploads in flight in `tmp/`. Keys never
 * start a segment with a dot, so no key reaches outside `objects/`.
 */
export class LocalFileStorage implements FileStorage {
  readonly driver = 'local' as const;
  readonly signer: FileSigner;
  readonly #options: LocalFileStorageOptions;
  readonly #dir: string;

  constructor(options: LocalFileStorageOptions) {
    this.#options = options;
    this.#dir = join(options.root, options.module);
    this.signer = new FileSigner(options.secret);
  }

  get module(): string {
    return this.#options.module;
  }

  async createUploadUrl(request: UploadRequest): Promise<UploadTicket> {
    const { key, contentType, maxBytes, expiresInSec } = checkUploadRequest(request, {
      maxUploadBytes: this.#options.maxUploadBytes,
      defaultTtlSec: this.#options.uploadUrlTtlSec,
    });
    const expires = Math.floor(Date.now() / 1000) + expiresInSec;
    const grant = { method: 'PUT' as const, module: this.module, key, expires, contentType, maxBytes };
    const query = new URLSearchParams({
      expires: String(expires),
      type: contentType,
      max: String(maxBytes),
      sig: this.signer.sign(grant),
    });
    return {
      url: this.#url(key, query),
      method: 'PUT',
      headers: { 'Content-Type': contentType },
      expiresAt: new Date(expires * 1000),
    };
  }

  async downloadUrl(key: string, options: { expiresInSec?: number } = {}): Promise<string> {
    requireFileKey(key);
    const expires = Math.floor(Date.now() / 1000) + lifetime(options.expiresInSec, this.#options.downloadUrlTtlSec);
    const sig = this.signer.sign({ method: 'GET', module: this.module, key, expires });
    return this.#url(key, new URLSearchParams({ expires: String(expires), sig }));
  }

  async stat(key: string): Promise<StoredFile | null> {
    try {
      const [info, contentType] = await Promise.all([stat(this.objectPath(key)), this.#contentType(key)]);
      return info.isFile() ? { size: info.size, contentType } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async readStart(key: string, length: number): Promise<Buffer | null> {
    let handle;
    try {
      handle = await open(this.objectPath(key), 'r');
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
    try {
      const buffer = Buffer.alloc(Math.max(0, length));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.objectPath(key), { force: true });
    await rm(this.#metaPath(key), { force: true });
  }

  /** Where an object's bytes are (the key checked first). */
  objectPath(key: string): string {
    return join(this.#dir, 'objects', requireFileKey(key));
  }

  /** A readable stream of the object (the route checked it exists). */
  openRead(key: string): NodeJS.ReadableStream {
    return createReadStream(this.objectPath(key));
  }

  /** A fresh temporary file for an upload in flight; `commit` moves it into place atomically. */
  async temporary(): Promise<string> {
    const dir = join(this.#dir, 'tmp');
    await mkdir(dir, { recursive: true });
    return join(dir, randomUUID());
  }

  /** Puts a completely received upload in place: its type first, then its bytes by rename (atomic). */
  async commit(key: string, temporary: string, contentType: string): Promise<void> {
    const target = this.objectPath(key);
    const meta = this.#metaPath(key);
    await Promise.all([mkdir(dirname(target), { recursive: true }), mkdir(dirname(meta), { recursive: true })]);
    const metaTemporary = `${temporary}.meta`;
    await writeFile(metaTemporary, JSON.stringify({ contentType }));
    await rename(metaTemporary, meta);
    await rename(temporary, target);
  }

  #metaPath(key: string): string {
    return join(this.#dir, 'meta', `${requireFileKey(key)}.json`);
  }

  async #contentType(key: string): Promise<string> {
    try {
      const meta = JSON.parse(await readFile(this.#metaPath(key), 'utf8')) as { contentType?: unknown };
      if (typeof meta.contentType === 'string') return meta.contentType;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    return 'application/octet-stream';
  }

  #url(key: string, query: URLSearchParams): string {
    const path = `${filePath(this.module, key)}?${query.toString()}`;
    const base = this.#options.publicUrl;
    return base ? new URL(path, base).toString() : path;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
