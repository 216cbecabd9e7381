import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';
import { ErrorCode } from '../errors.js';
import { currentRequest } from '../http/request-context.js';

/**
 * The header in which one service proves to another that it is one of the deployment's services
 * (internal routes, `_service`, and every call the gateway makes). `/metrics` also takes the same
 * credential as `Authorization: Bearer …`, which is how Prometheus sends one.
 */
export const SERVICE_CREDENTIAL_HEADER = 'x-platform-service';

/**
 * The credential services present, derived from the deployment's service secret (HMAC-SHA256
 * under a fixed label), so the secret itself never travels and the credential can be handed to a
 * scraper (`npx platformctl service-credential`) without giving it the power to sign client
 * addresses.
 */
export function serviceCredential(secret: string): string {
  return createHmac('sha256', secret).update('platform service credential v1', 'utf8').digest('base64url');
}

/** Whether `presented` is the credential, compared in constant time. */
export function isServiceCredential(credential: string, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const given = Buffer.from(presented);
  const expected = Buffer.from(credential);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The credential a request carries: its service header, or (with `bearer`) its bearer token. */
export function presentedCredential(headers: IncomingHttpHeaders, bearer = false): string | undefined {
  const header = headers[SERVICE_CREDENTIAL_HEADER];
  if (typeof header === 'string') return header;
  const authorization = headers.authorization;
  return bearer && authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
}

/**
 * Express middleware answering 401 UNAUTHENTICATED to a caller without the service credential;
 * `onRefused` hears each refusal (logged and counted by the caller).
 */
export function requireServiceCredential(
  credential: string,
  options: { bearer?: boolean; onRefused?: (path: string, presented: boolean) => void } = {},
): RequestHandler {
  return (req, res, next) => {
    const presented = presentedCredential(req.headers, options.bearer);
    if (isServiceCredential(credential, presented)) return next();
    options.onRefused?.(req.originalUrl.split('?', 1)[0] ?? '/', presented !== undefined);
    res
      .status(401)
      .set('www-authenticate', options.bearer ? 'Bearer realm="platform services"' : 'PlatformService')
      .json({
        errors: [
          {
            message: 'This route is for the platform’s services: present the service credential',
            extensions: { code: ErrorCode.UNAUTHENTICATED, requestId: currentRequest()?.requestId },
          },
        ],
      });
  };
}
