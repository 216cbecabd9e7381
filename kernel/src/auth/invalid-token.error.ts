import { AuthenticationError } from '../errors.js';

/** Why a token was refused: for logs and metrics labels, never for the client. */
export type TokenRejectionReason =
  /** The Authorization header is not `Bearer <token>`. */
  | 'bad-scheme'
  /** Not a compact JWS, no `kid`, unparsable header or payload, or too long. */
  | 'malformed'
  | 'expired'
  | 'bad-signature'
  /** `alg` outside the pinned list: `none`, HS256 key confusion, another family. */
  | 'algorithm-not-allowed'
  | 'wrong-issuer'
  | 'wrong-audience'
  /** A required claim is missing or has the wrong shape (`sub`/`sid` not uuids, `iat` in the future…). */
  | 'invalid-claims'
  /** No published key has the token's `kid`, even after a refetch. */
  | 'unknown-key'
  /** The key set could not be fetched and no cached copy has the key. */
  | 'keys-unavailable'
  /** The session or user was revoked after the token was issued. */
  | 'revoked';

/** Every client sees the same words, so a probe cannot tell an expired token from a forged one. */
export const INVALID_TOKEN_MESSAGE = 'Invalid or expired token';

/**
 * An access token was refused. It is an AuthenticationError (UNAUTHENTICATED) with a generic
 * message; `reason` and `detail` are properties, not extensions, so they reach the logs (pino
 * serialises them) but never the client.
 */
export class InvalidTokenError extends AuthenticationError {
  readonly reason: TokenRejectionReason;
  readonly detail: string | undefined;

  constructor(reason: TokenRejectionReason, detail?: string) {
    super(INVALID_TOKEN_MESSAGE);
    this.reason = reason;
    this.detail = detail;
  }
}
