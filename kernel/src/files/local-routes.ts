import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { errorBody } from '../http/server.js';
import type { LocalFileStorage } from './local.js';
import { isFileKey } from './storage.js';

/** Content types a browser may show inline; everything else downloads as an attachment. */
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'text/plain', 'application/pdf']);

class TooLarge extends Error {}
class ClientGone extends Error {}

/** Passes at most `limit` bytes, then fails the stream (so a too-large upload is never kept). */
function byteLimit(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) callback(new TooLarge());
      else callback(null, chunk);
    },
  });
}

function refuse(res: Response, status: number, message: string, code: string): void {
  res.status(status).setHeader('Cache-Control', 'no-store').json(errorBody(message, code));
}

/**
 * The routes of local signed URLs, `/files/<module>/<key>` on the module's subgraph (the gateway
 * forwards its own `/files/<module>/…` here): PUT stores an upload, GET and HEAD read an object.
 * A URL is refused (403) unless its signature covers this method, module, key, expiry and, for a
 * PUT, the content type (415 when the request sends another) and the size (413, counted as it
 * streams; nothing is kept).
 */
export function localFileRoutes(storage: LocalFileStorage, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const key = keyOf(req);
    if (key === undefined) return next();
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (method === 'PUT') return void upload(storage, key, req, res, logger).catch(next);
    if (method === 'GET') return void download(storage, key, req, res).catch(next);
    res.setHeader('Allow', 'GET, HEAD, PUT');
    refuse(res, 405, 'Method not allowed', 'METHOD_NOT_ALLOWED');
  };
}

/** The key of the request's path below the mount point, when it is a valid one. */
function keyOf(req: Request): string | undefined {
  let key: string;
  try {
    key = req.path
      .slice(1)
      .split('/')
      .map((segment) => decodeURIComponent(segment))
      .join('/');
  } catch {
    return undefined;
  }
  return isFileKey(key) ? key : undefined;
}

function queryString(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

async function upload(storage: LocalFileStorage, key: string, req: Request, res: Response, logger: Logger) {
  const contentType = queryString(req, 'type');
  const maxBytes = Number(queryString(req, 'max'));
  const grant = {
    method: 'PUT' as const,
    module: storage.module,
    key,
    expires: Number(queryString(req, 'expires')),
    contentType,
    maxBytes,
  };
  if (!contentType || !storage.signer.verify(grant, queryString(req, 'sig'))) {
    return refuse(res, 403, 'The upload URL is invalid or expired', 'FORBIDDEN');
  }
  const sent = (req.headers['content-type'] ?? '').trim().toLowerCase();
  if (sent !== contentType) {
    return refuse(res, 415, `The upload must be sent as ${contentType}`, 'UNSUPPORTED_MEDIA_TYPE');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.setHeader('Connection', 'close');
    req.resume();
    return refuse(res, 413, `The upload may be at most ${maxBytes} bytes`, 'PAYLOAD_TOO_LARGE');
  }
  const temporary = await storage.temporary();
  // The request is piped, not handed to pipeline(): a refusal must leave it open to answer on.
  const limit = byteLimit(maxBytes);
  const aborted = (): void => void (req.complete || limit.destroy(new ClientGone()));
  req.once('close', aborted);
  req.pipe(limit);
  try {
    await pipeline(limit, createWriteStream(temporary, { flags: 'wx' }));
    await storage.commit(key, temporary, contentType);
  } catch (error) {
    req.unpipe(limit);
    await rm(temporary, { force: true });
    if (error instanceof TooLarge) {
      // The rest is read and dropped, so the client gets the answer rather than a reset.
      res.setHeader('Connection', 'close');
      req.resume();
      return refuse(res, 413, `The upload may be at most ${maxBytes} bytes`, 'PAYLOAD_TOO_LARGE');
    }
    if (error instanceof ClientGone) {
      logger.info({ key }, 'upload aborted by the client');
      return;
    }
    throw error;
  } finally {
    req.off('close', aborted);
  }
  res.status(200).setHeader('Cache-Control', 'no-store').end();
}

async function download(storage: LocalFileStorage, key: string, req: Request, res: Response) {
  const expires = Number(queryString(req, 'expires'));
  if (!storage.signer.verify({ method: 'GET', module: storage.module, key, expires }, queryString(req, 'sig'))) {
    return refuse(res, 403, 'The download URL is invalid or expired', 'FORBIDDEN');
  }
  const stored = await storage.stat(key);
  if (!stored) return refuse(res, 404, 'Not found', 'NOT_FOUND');
  const name = (key.split('/').pop() ?? 'file').replace(/[^A-Za-z0-9._-]/g, '_');
  const disposition = INLINE_TYPES.has(stored.contentType) ? 'inline' : 'attachment';
  res.status(200);
  res.setHeader('Content-Type', stored.contentType);
  res.setHeader('Content-Length', String(stored.size));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Disposition', `${disposition}; filename="${name}"`);
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  // The signed URL is the credential: a page on another origin (the app) may show the image.
  res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
  // Private: the URL is a credential; cached no longer than it is valid.
  res.setHeader('Cache-Control', `private, max-age=${Math.max(0, expires - Math.floor(Date.now() / 1000))}`);
  if (req.method === 'HEAD') return void res.end();
  await pipeline(storage.openRead(key), res);
}
