import { decodeJwt } from 'jose';
import type { Logger } from 'pino';
import { PlatformError } from '../errors.js';
import { InvalidTokenError } from '../auth/invalid-token.error.js';
import type { RevocationList } from '../auth/revocation-list.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { AuthenticatedUser } from '../graphql/context.js';
import { CloseCode } from './close-codes.js';

const BEARER = /^Bearer +(\S+) *$/i;

/** A socket's caller, from the token in its `connection_init` payload. */
export interface SocketUser extends AuthenticatedUser {
  sessionId: string;
  /** When the token expires (epoch ms): the socket closes then. */
  expiresAt: number;
  /** Issued-at (epoch seconds), for user-wide revocations. */
  iat: number;
}

/** Why a socket must close, with its code. */
export interface CloseReason {
  code: CloseCode;
  reason: string;
}

export const TOKEN_INVALID: CloseReason = { code: CloseCode.Unauthorized, reason: 'Invalid or expired access token' };
export const TOKEN_EXPIRED: CloseReason = { code: CloseCode.Unauthorized, reason: 'Access token expired' };
export const SESSION_REVOKED: CloseReason = { code: CloseCode.SessionRevoked, reason: 'Session revoked' };

/**
 * The credentials of `connection_init`: `{ authorization: "Bearer <token>" }` (the header a
 * browser cannot set on a WebSocket). None means anonymous (the guest role).
 */
export function bearerToken(params: Readonly<Record<string, unknown>> | undefined): string | null | undefined {
  const value = params?.authorization ?? params?.Authorization;
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return null;
  return BEARER.exec(value)?.[1] ?? null;
}

/**
 * Verifies a socket's token; throws InvalidTokenError (UNAUTHENTICATED) for a malformed header
 * or a refused token. Undefined for an anonymous socket.
 */
export async function socketUser(
  verifier: TokenVerifier,
  params: Readonly<Record<string, unknown>> | undefined,
): Promise<SocketUser | undefined> {
  const token = bearerToken(params);
  if (token === undefined) return undefined;
  if (token === null) throw new InvalidTokenError('bad-scheme');
  const verified = await verifier.verify(token);
  const { iat } = decodeJwt(token) as { iat: number };
  return { id: verified.id, sessionId: verified.sessionId, token, expiresAt: verified.expiresAt, iat };
}

/** Why an open socket's caller may no longer use it, if they may not. */
export function sessionProblem(
  user: SocketUser | undefined,
  revocations: RevocationList | undefined,
  now = Date.now(),
): CloseReason | undefined {
  if (!user) return undefined;
  if (now >= user.expiresAt) return TOKEN_EXPIRED;
  if (revocations?.isRevoked({ sub: user.id, sid: user.sessionId, iat: user.iat })) return SESSION_REVOKED;
  return undefined;
}

/** A socket's fate at `connection_init`: its caller (undefined for a guest), or why it must close. */
export type Admission = { user: SocketUser | undefined } | { refused: CloseReason };

/**
 * Decides on a socket at `connection_init`, for the gateway and every subgraph alike: refused with
 * 4401 for a malformed or refused token, 4401/4403 for an expired token or a revoked session;
 * otherwise its caller. Other errors (not the caller's fault) are thrown.
 */
export async function admitSocket(
  verifier: TokenVerifier,
  params: Readonly<Record<string, unknown>> | undefined,
  revocations: RevocationList | undefined,
  logger: Logger,
): Promise<Admission> {
  let user: SocketUser | undefined;
  try {
    user = await socketUser(verifier, params);
  } catch (error) {
    if (!(error instanceof PlatformError)) throw error;
    if (error.extensions.code === 'UNAVAILABLE') {
      return { refused: { code: CloseCode.TryAgainLater, reason: 'Sessions cannot be checked right now' } };
    }
    logger.info({ reason: (error as { reason?: string }).reason }, 'socket token rejected');
    return { refused: TOKEN_INVALID };
  }
  const problem = sessionProblem(user, revocations);
  return problem ? { refused: problem } : { user };
}

/** Max delay setTimeout accepts; an expiry further away is re-armed when it fires. */
const MAX_TIMER_MS = 2_147_483_647;

/** Calls `onExpired` when `user`'s token expires (nothing for anonymous sockets); returns a canceller. */
export function expiryTimer(user: SocketUser | undefined, onExpired: () => void): () => void {
  if (!user) return () => {};
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const left = user.expiresAt - Date.now();
    if (left <= 0) return onExpired();
    timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}
