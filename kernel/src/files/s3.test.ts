import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { InputError } from '../errors.js';
import { S3FileStorage } from './s3.js';
import { startS3rver, type S3rverProcess } from '../testing/s3rver.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 8, 7, 6]);

let s3: S3rverProcess;
let storage: S3FileStorage;
let other: S3FileStorage;

const options = (module: string) => ({
  module,
  endpoint: s3.endpoint,
  region: 'us-east-1',
  bucket: s3.bucket,
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
  forcePathStyle: true,
  maxUploadBytes: 1024,
  uploadUrlTtlSec: 60,
  downloadUrlTtlSec: 60,
});

beforeAll(async () => {
  s3 = await startS3rver();
  storage = new S3FileStorage(options('shelf'));
  other = new S3FileStorage(options('attic'));
}, 20_000);

afterAll(async () => {
  storage?.close();
  other?.close();
  await s3?.stop();
});

const put = (url: string, body: Buffer | string, headers: Record<string, string>) =>
  fetch(url, { method: 'PUT', body, headers });

describe('S3 file storage (against s3rver in its own process)', () => {
  it('takes an upload by presigned PUT, reports the stored object and serves it by a presigned GET', async () => {
    const ticket = await storage.createUploadUrl({ key: 'a/cover.png', contentType: 'image/png', maxBytes: 100 });
    expect(ticket).toMatchObject({ method: 'PUT', headers: { 'Content-Type': 'image/png' } });
    expect(ticket.url.startsWith(`${s3.endpoint}/${s3.bucket}/shelf/a/cover.png?`)).toBe(true);
    expect(await storage.stat('a/cover.png')).toBeNull();
    expect(await storage.readStart('a/cover.png', 4)).toBeNull();

    const uploaded = await put(ticket.url, PNG, ticket.headers);
    expect(uploaded.status).toBe(200);
    expect(await storage.stat('a/cover.png')).toEqual({ size: PNG.length, contentType: 'image/png' });
    expect(await storage.readStart('a/cover.png', 4)).toEqual(PNG.subarray(0, 4));

    const download = await fetch(await storage.downloadUrl('a/cover.png'));
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(PNG);

    // Namespaced: another module's storage does not see it.
    expect(await other.stat('a/cover.png')).toBeNull();

    await storage.delete('a/cover.png');
    expect(await storage.stat('a/cover.png')).toBeNull();
    await expect(storage.delete('a/cover.png')).resolves.toBeUndefined();
  });

  // s3rver does not check V4 signatures (AWS, MinIO and R2 do): what the URL signs is read from
  // it, and what a client sent instead is found by `stat`, as a module checks before trusting it.
  it('signs the content type and the lifetime into the URL', async () => {
    const ticket = await storage.createUploadUrl({
      key: 'b.png',
      contentType: 'image/png',
      maxBytes: 100,
      expiresInSec: 30,
    });
    const query = new URL(ticket.url).searchParams;
    expect(query.get('X-Amz-SignedHeaders')?.split(';')).toContain('content-type');
    expect(query.get('X-Amz-Expires')).toBe('30');
    expect(ticket.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 30_000);
  });

  it('reports the stored content type, so a module finds an upload of another type', async () => {
    const ticket = await storage.createUploadUrl({ key: 'c.png', contentType: 'image/png', maxBytes: 100 });
    expect((await put(ticket.url, '<html>', { 'Content-Type': 'text/html' })).status).toBe(200);
    expect(await storage.stat('c.png')).toEqual({ size: 6, contentType: 'text/html' });
    await storage.delete('c.png');
  });

  it('fails with credentials the server does not know', async () => {
    const stranger = new S3FileStorage({ ...options('shelf'), accessKeyId: 'NOBODY' });
    try {
      await expect(stranger.stat('a.png')).rejects.toThrow();
    } finally {
      stranger.close();
    }
  });

  it('reports the stored size, so a module finds an upload larger than it allowed', async () => {
    // S3 cannot bound a presigned PUT: the stored object is what a module checks.
    const ticket = await storage.createUploadUrl({
      key: 'e.bin',
      contentType: 'application/octet-stream',
      maxBytes: 10,
    });
    expect((await put(ticket.url, Buffer.alloc(50), ticket.headers)).status).toBe(200);
    const stored = await storage.stat('e.bin');
    expect(stored?.size).toBe(50);
    expect(stored!.size > 10).toBe(true);
    await storage.delete('e.bin');
  });

  it('refuses keys, sizes and types outside the limits before signing anything', async () => {
    await expect(storage.createUploadUrl({ key: '../x', contentType: 'image/png', maxBytes: 1 })).rejects.toThrow(
      InputError,
    );
    await expect(storage.createUploadUrl({ key: 'x', contentType: 'image/png', maxBytes: 2048 })).rejects.toThrow(
      InputError,
    );
    await expect(storage.stat('a/../b')).rejects.toThrow(InputError);
  });
});
