import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import proxyaddr from 'proxy-addr';

/**
 * The header in which the gateway tells a subgraph who the client is:
 * `<address>;<issued at, epoch ms>;<HMAC-SHA256 of both, base64url>`, signed with the
 * deployment's service secret. A subgraph believes it only with a valid signature, so a client
 * that reaches a subgraph directly (or sends the header through the gateway) cannot choose the
 * address that rate limits, sessions and audit records see.
 */
export const CLIENT_ADDRESS_HEADER = 'x-platform-client';

/** How old a signature may be; it travels one hop (gateway → subgraph) and is made per request. */
const MAX_AGE_MS = 60_000;

const mac = (secret: string, payload: string): string =>
  createHmac('sha256', secret).update(payload, 'utf8').digest('base64url');

/** The header value vouching for `address`. */
export function signClientAddress(secret: string, address: string, now = Date.now()): string {
  const payload = `${address};${now}`;
  return `${payload};${mac(secret, payload)}`;
}

/** The address a valid, fresh header vouches for; undefined for anything else. */
export function verifyClientAddress(secret: string, header: unknown, now = Date.now()): string | undefined {
  if (typeof header !== 'string' || header.length > 200) return undefined;
  const parts = header.split(';');
  if (parts.length !== 3) return undefined;
  const [address, issued, signature] = parts as [string, string, string];
  const issuedAt = Number(issued);
  if (!isIP(address) || !Number.isSafeInteger(issuedAt) || Math.abs(now - issuedAt) > MAX_AGE_MS) return undefined;
  const expected = Buffer.from(mac(secret, `${address};${issued}`));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected) ? address : undefined;
}

/**
 * The client address of a request Express does not see (a WebSocket upgrade), by the same rule
 * as `req.ip`: the peer, unless the peer is one of `trustedProxies`, whose `X-Forwarded-For`
 * then names the client (proxy-addr, as Express uses it).
 */
export function requestAddress(request: IncomingMessage, trustedProxies: readonly string[]): string | undefined {
  if (!request.socket.remoteAddress) return undefined;
  return trustedProxies.length === 0 ? request.socket.remoteAddress : proxyaddr(request, compiled(trustedProxies));
}

const trustCache = new WeakMap<readonly string[], ReturnType<typeof proxyaddr.compile>>();
function compiled(trustedProxies: readonly string[]): ReturnType<typeof proxyaddr.compile> {
  let trust = trustCache.get(trustedProxies);
  if (!trust) trustCache.set(trustedProxies, (trust = proxyaddr.compile([...trustedProxies])));
  return trust;
}
