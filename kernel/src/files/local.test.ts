import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { createLogger } from '../logging/logger.js';
import { InputError } from '../errors.js';
import { eventually } from '../testing/wait.js';
import { LocalFileStorage } from './local.js';
import { localFileRoutes } from './local-routes.js';
import { isFileKey } from './storage.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

let root: string;
let server: Server;
let origin: string;
let storage: LocalFileStorage;

/** The storage behind its routes on a real loopback server, as a subgraph serves them. */
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'files-local-'));
  storage = new LocalFileStorage({
    module: 'shelf',
    root,
    secret: 'x'.repeat(40),
    maxUploadBytes: 1024,
    uploadUrlTtlSec: 60,
    downloadUrlTtlSec: 60,
  });
  const app = express();
  app.use('/files/shelf', localFileRoutes(storage, createLogger({ log: { level: 'silent', pretty: false } }, 'files')));
  app.use((_req, res) => void res.status(404).end());
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

const put = (url: string, body: Buffer | string, headers: Record<string, string>) =>
  fetch(new URL(url, origin), { method: 'PUT', body, headers });

/** Nothing of an upload is left behind: no object, no temporary file. */
function leftovers(): string[] {
  const tmp = join(root, 'shelf', 'tmp');
  return existsSync(tmp) ? readdirSync(tmp) : [];
}

describe('local file storage', () => {
  it('stores an upload sent to its signed URL and serves it by a signed download URL', async () => {
    const ticket = await storage.createUploadUrl({ key: 'a/cover.png', contentType: 'image/png', maxBytes: 100 });
    expect(ticket).toMatchObject({ method: 'PUT', headers: { 'Content-Type': 'image/png' } });
    expect(ticket.url.startsWith('/files/shelf/a/cover.png?')).toBe(true);
    expect(ticket.expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(await storage.stat('a/cover.png')).toBeNull();

    const uploaded = await put(ticket.url, PNG, ticket.headers);
    expect(uploaded.status).toBe(200);
    expect(await storage.stat('a/cover.png')).toEqual({ size: PNG.length, contentType: 'image/png' });
    expect(await storage.readStart('a/cover.png', 4)).toEqual(PNG.subarray(0, 4));

    const download = await fetch(new URL(await storage.downloadUrl('a/cover.png'), origin));
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(download.headers.get('content-disposition')).toBe('inline; filename="cover.png"');
    expect(Buffer.from(await download.arrayBuffer())).toEqual(PNG);

    await storage.delete('a/cover.png');
    expect(await storage.stat('a/cover.png')).toBeNull();
    expect((await fetch(new URL(await storage.downloadUrl('a/cover.png'), origin))).status).toBe(404);
  });

  it('refuses a tampered or expired signature (403) and keeps nothing', async () => {
    const ticket = await storage.createUploadUrl({ key: 'b.png', contentType: 'image/png', maxBytes: 100 });
    const url = new URL(ticket.url, origin);
    const bigger = new URL(url);
    bigger.searchParams.set('max', '100000');
    expect((await put(bigger.toString(), PNG, ticket.headers)).status).toBe(403);
    const otherType = new URL(url);
    otherType.searchParams.set('type', 'text/html');
    expect((await put(otherType.toString(), '<p>', { 'Content-Type': 'text/html' })).status).toBe(403);
    const otherKey = new URL(url.toString().replace('/b.png?', '/c.png?'));
    expect((await put(otherKey.toString(), PNG, ticket.headers)).status).toBe(403);
    const unsigned = new URL(url);
    unsigned.searchParams.delete('sig');
    expect((await put(unsigned.toString(), PNG, ticket.headers)).status).toBe(403);

    const expired = await storage.createUploadUrl({
      key: 'b.png',
      contentType: 'image/png',
      maxBytes: 100,
      expiresInSec: 1,
    });
    const lapsed = new URL(expired.url, origin);
    // An expiry in the past, re-signed as the storage would: refused for its age alone.
    const past = Math.floor(Date.now() / 1000) - 1;
    lapsed.searchParams.set('expires', String(past));
    lapsed.searchParams.set(
      'sig',
      storage.signer.sign({
        method: 'PUT',
        module: 'shelf',
        key: 'b.png',
        expires: past,
        contentType: 'image/png',
        maxBytes: 100,
      }),
    );
    expect((await put(lapsed.toString(), PNG, ticket.headers)).status).toBe(403);

    // A download URL does not upload, and an upload URL does not download.
    const download = await storage.downloadUrl('b.png');
    expect((await put(download, PNG, ticket.headers)).status).toBe(403);
    expect((await fetch(url)).status).toBe(403);
    expect(await storage.stat('b.png')).toBeNull();
    expect(leftovers()).toEqual([]);
  });

  it('refuses a content type other than the signed one (415)', async () => {
    const ticket = await storage.createUploadUrl({ key: 'c.png', contentType: 'image/png', maxBytes: 100 });
    const response = await put(ticket.url, '<svg onload=alert(1)>', { 'Content-Type': 'image/svg+xml' });
    expect(response.status).toBe(415);
    expect(await storage.stat('c.png')).toBeNull();
  });

  it('refuses a body over the signed size (413), declared or streamed, and keeps nothing', async () => {
    const ticket = await storage.createUploadUrl({
      key: 'd.bin',
      contentType: 'application/octet-stream',
      maxBytes: 10,
    });
    const declared = await put(ticket.url, Buffer.alloc(11), ticket.headers);
    expect(declared.status).toBe(413);
    expect(await storage.stat('d.bin')).toBeNull();

    // Chunked, without a length: counted as it arrives.
    const chunks = [Buffer.alloc(6), Buffer.alloc(6)];
    const streamed = await fetch(new URL(ticket.url, origin), {
      method: 'PUT',
      headers: ticket.headers,
      body: new ReadableStream({
        pull(controller) {
          const next = chunks.shift();
          if (next) controller.enqueue(next);
          else controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await storage.stat('d.bin')).toBeNull();
    expect(leftovers()).toEqual([]);

    expect((await put(ticket.url, Buffer.alloc(10), ticket.headers)).status).toBe(200);
    expect(await storage.stat('d.bin')).toEqual({ size: 10, contentType: 'application/octet-stream' });
    const download = await fetch(new URL(await storage.downloadUrl('d.bin'), origin));
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="d.bin"');
  });

  it('drops an upload the client abandons halfway', async () => {
    const ticket = await storage.createUploadUrl({
      key: 'h.bin',
      contentType: 'application/octet-stream',
      maxBytes: 100,
    });
    const request = httpRequest(new URL(ticket.url, origin), {
      method: 'PUT',
      headers: { ...ticket.headers, 'Content-Length': '100' },
    });
    request.on('error', () => {});
    request.write(Buffer.alloc(40));
    await eventually(async () => expect(leftovers()).toHaveLength(1));
    request.destroy();
    await eventually(async () => expect(leftovers()).toEqual([]));
    expect(await storage.stat('h.bin')).toBeNull();
  });

  it('a replaced object is swapped whole: readers see the old bytes or the new ones', async () => {
    const first = await storage.createUploadUrl({ key: 'e.png', contentType: 'image/png', maxBytes: 100 });
    await put(first.url, PNG, first.headers);
    const second = await storage.createUploadUrl({ key: 'e.png', contentType: 'image/png', maxBytes: 100 });
    await put(second.url, Buffer.concat([PNG, PNG]), second.headers);
    expect(await storage.stat('e.png')).toEqual({ size: PNG.length * 2, contentType: 'image/png' });
  });

  it.each([
    '../secret',
    'a/../../b',
    '.hidden',
    'a//b',
    '/abs',
    'a/',
    '',
    'a\\b',
    'a%2F..',
    `${'x'.repeat(100)}/`.repeat(6),
    'a/b/c/d/e/f/g/h/i',
  ])('refuses the key %p', async (key) => {
    expect(isFileKey(key)).toBe(false);
    await expect(storage.createUploadUrl({ key, contentType: 'image/png', maxBytes: 1 })).rejects.toThrow(InputError);
    await expect(storage.stat(key)).rejects.toThrow(InputError);
    await expect(storage.downloadUrl(key)).rejects.toThrow(InputError);
    await expect(storage.delete(key)).rejects.toThrow(InputError);
  });

  it('serves nothing outside the module directory, whatever the path says', async () => {
    for (const path of ['/files/shelf/..%2F..%2Fetc%2Fpasswd', '/files/shelf/%2e%2e/x', '/files/shelf/.meta/x']) {
      const response = await fetch(`${origin}${path}?expires=9999999999&sig=${'A'.repeat(43)}`);
      expect(response.status).toBe(404);
    }
  });

  it('refuses sizes, types and lifetimes outside the limits', async () => {
    const ask = (over: Record<string, unknown>) =>
      storage.createUploadUrl({ key: 'f.png', contentType: 'image/png', maxBytes: 10, ...over });
    await expect(ask({ maxBytes: 1025 })).rejects.toThrow(InputError);
    await expect(ask({ maxBytes: 0 })).rejects.toThrow(InputError);
    await expect(ask({ contentType: 'image/png; charset=x' })).rejects.toThrow(InputError);
    await expect(ask({ contentType: 'nonsense' })).rejects.toThrow(InputError);
    await expect(ask({ expiresInSec: 0 })).rejects.toThrow(InputError);
    await expect(ask({ key: 'x'.repeat(513) })).rejects.toThrow(InputError);
    await expect(ask({ contentType: 'IMAGE/PNG' })).resolves.toMatchObject({
      headers: { 'Content-Type': 'image/png' },
    });
  });

  it('builds absolute URLs on the public origin when one is configured', async () => {
    const absolute = new LocalFileStorage({
      module: 'shelf',
      root,
      secret: 'x'.repeat(40),
      publicUrl: 'https://api.example.com',
      maxUploadBytes: 1024,
      uploadUrlTtlSec: 60,
      downloadUrlTtlSec: 60,
    });
    expect(await absolute.downloadUrl('g.png')).toMatch(
      /^https:\/\/api\.example\.com\/files\/shelf\/g\.png\?expires=\d+&sig=/,
    );
  });
});
