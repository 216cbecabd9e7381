import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RequestHandler } from 'express';
import type { Logger } from '@platform/kernel';
import { pickHeaders } from './proxy-headers.js';

/** Request headers a file upload or download needs upstream; nothing else (no cookies, no tokens). */
const REQUEST_HEADERS = ['content-type', 'content-length', 'transfer-encoding', 'if-none-match', 'if-modified-since'];
/** Response headers passed back to the client. */
const RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'content-disposition',
  'content-security-policy',
  'cross-origin-resource-policy',
  'x-content-type-options',
  'cache-control',
  'etag',
  'last-modified',
  'allow',
];

/**
 * Local file storage's signed URLs on the gateway's origin: `/files/<module>/…` is streamed to
 * that module's subgraph (its address from `services` in config) and the answer streamed back,
 * so a browser needs nothing but the gateway. The subgraph checks the signature; the gateway
 * buffers nothing and passes on only the headers a file needs.
 */
export function forwardFiles(urls: Record<string, string>, logger: Logger): RequestHandler {
  return (req, res) => {
    const [, module] = /^\/([a-z][a-z0-9-]*)\//.exec(req.path) ?? [];
    const base = module ? urls[module] : undefined;
    if (!module || !base || !['GET', 'HEAD', 'PUT'].includes(req.method)) {
      res.status(404).json({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND' } }] });
      return;
    }
    const target = new URL(`/files${req.url}`, base);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let answered = false;
    const upstream = send(
      target,
      { method: req.method, headers: pickHeaders(req.headers, REQUEST_HEADERS) },
      (response) => {
        answered = true;
        res.status(response.statusCode ?? 502);
        for (const [name, value] of Object.entries(pickHeaders(response.headers, RESPONSE_HEADERS)))
          res.setHeader(name, value);
        response.pipe(res);
        // The client went away: stop reading from the subgraph.
        res.once('close', () => response.destroy());
      },
    );
    upstream.on('error', (error) => {
      // After an answer (e.g. 413 while the body was still being sent), a reset is expected.
      if (answered) return;
      logger.warn({ err: error, module }, 'file request could not reach its subgraph');
      if (!res.headersSent) {
        res.status(502).json({ errors: [{ message: 'Bad gateway', extensions: { code: 'BAD_GATEWAY' } }] });
      } else res.end();
    });
    // The client went away mid-upload: the subgraph drops the partial file.
    req.once('close', () => {
      if (!req.complete) upstream.destroy();
    });
    req.pipe(upstream);
  };
}
