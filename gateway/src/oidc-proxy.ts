import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { RequestHandler } from 'express';
import { currentRequest, type Logger } from '@platform/kernel';
import { CLIENT_ADDRESS_HEADER, signClientAddress } from '@platform/kernel/gateway';
import { pickHeaders } from './proxy-headers.js';

/** The paths of the OpenID Connect provider (identity) on the gateway's origin, the issuer. */
export const OIDC_PATHS = ['/.well-known/openid-configuration', '/.well-known/jwks.json', '/oidc'];

/**
 * Request headers the protocol needs upstream: its cookies (the sign-in session and
 * interaction), client authentication and bearer tokens, the form or JSON body, the language of
 * the pages. Not the client's forwarding headers: identity builds its URLs from the issuer, and
 * learns the client's address from the signed header the gateway adds.
 */
const REQUEST_HEADERS = [
  'accept',
  'accept-language',
  'authorization',
  'content-type',
  'content-length',
  'transfer-encoding',
  'cookie',
  'dpop',
  'origin',
  'user-agent',
  'if-none-match',
];

/** Hop-by-hop headers and those the gateway sets itself: everything else of the answer is passed on. */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'trailer',
  'te',
  'date',
  'x-request-id',
]);

/**
 * The OpenID Connect provider on the gateway's origin: discovery, the JWKS, and `/oidc/*` (the
 * authorization, token, userinfo, revocation, introspection and end-session endpoints, and the
 * sign-in pages) streamed to identity (`auth.tokenService`) and the answer streamed back,
 * cookies and redirects included. The client's address goes upstream signed with the service
 * secret, as for GraphQL, so identity's login throttle counts the real client.
 */
export function forwardOidc(identityUrl: string, secret: string, logger: Logger): RequestHandler {
  return (req, res) => {
    const target = new URL(req.originalUrl, identityUrl);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | string[]> = pickHeaders(req.headers, REQUEST_HEADERS);
    const ip = currentRequest()?.ip ?? req.ip;
    if (ip) headers[CLIENT_ADDRESS_HEADER] = signClientAddress(secret, ip);
    let answered = false;
    const upstream = send(target, { method: req.method, headers }, (response) => {
      answered = true;
      res.status(response.statusCode ?? 502);
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(name)) res.setHeader(name, value);
      }
      response.pipe(res);
      res.once('close', () => response.destroy());
    });
    upstream.on('error', (error) => {
      if (answered) return;
      logger.warn({ err: error }, 'OpenID Connect request could not reach identity');
      if (!res.headersSent) {
        res.status(502).json({ error: 'temporarily_unavailable', error_description: 'Bad gateway' });
      } else res.end();
    });
    req.once('close', () => {
      if (!req.complete) upstream.destroy();
    });
    req.pipe(upstream);
  };
}
