import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  checkUploadRequest,
  lifetime,
  requireFileKey,
  type FileStorage,
  type StoredFile,
  type UploadRequest,
  type UploadTicket,
} from './storage.js';

export interface S3FileStorageOptions {
  module: string;
  endpoint?: string | null;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  maxUploadBytes: number;
  uploadUrlTtlSec: number;
  downloadUrlTtlSec: number;
}

/**
 * Files in an S3-compatible bucket, each module's under the key prefix `<module>/`. Uploads are
 * presigned PUTs with the content type signed; S3 cannot bound a presigned PUT's size, so a
 * module checks `stat` before it trusts an upload (and deletes what is too large).
 */
export class S3FileStorage implements FileStorage {
  readonly driver = 's3' as const;
  readonly #client: S3Client;
  readonly #options: S3FileStorageOptions;

  constructor(options: S3FileStorageOptions) {
    this.#options = options;
    this.#client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // Checksums only where S3 requires them: otherwise the SDK signs a checksum of an empty
      // body into presigned PUTs, and every upload with bytes fails it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async createUploadUrl(request: UploadRequest): Promise<UploadTicket> {
    const { key, contentType, expiresInSec } = checkUploadRequest(request, {
      maxUploadBytes: this.#options.maxUploadBytes,
      defaultTtlSec: this.#options.uploadUrlTtlSec,
    });
    const command = new PutObjectCommand({
      Bucket: this.#options.bucket,
      Key: this.#key(key),
      ContentType: contentType,
    });
    const url = await getSignedUrl(this.#client, command, {
      expiresIn: expiresInSec,
      signableHeaders: new Set(['content-type']),
    });
    return {
      url,
      method: 'PUT',
      headers: { 'Content-Type': contentType },
      expiresAt: new Date(Date.now() + expiresInSec * 1000),
    };
  }

  async stat(key: string): Promise<StoredFile | null> {
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#options.bucket, Key: this.#key(key) }),
      );
      return { size: head.ContentLength ?? 0, contentType: head.ContentType ?? 'application/octet-stream' };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async readStart(key: string, length: number): Promise<Buffer | null> {
    if (length < 1) return (await this.stat(key)) ? Buffer.alloc(0) : null;
    try {
      const object = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#options.bucket, Key: this.#key(key), Range: `bytes=0-${length - 1}` }),
      );
      const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
      return bytes.subarray(0, length);
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async downloadUrl(key: string, options: { expiresInSec?: number } = {}): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.#options.bucket, Key: this.#key(key) });
    return getSignedUrl(this.#client, command, {
      expiresIn: lifetime(options.expiresInSec, this.#options.downloadUrlTtlSec),
    });
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#options.bucket, Key: this.#key(key) }));
  }

  close(): void {
    this.#client.destroy();
  }

  #key(key: string): string {
    return `${this.#options.module}/${requireFileKey(key)}`;
  }
}

function isNotFound(error: unknown): boolean {
  if (error instanceof S3ServiceException) {
    return error.$metadata.httpStatusCode === 404 || error.name === 'NotFound' || error.name === 'NoSuchKey';
  }
  return false;
}
