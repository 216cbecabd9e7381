import { LRUCache } from 'lru-cache';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import type { Logger } from 'pino';
import type { AuthenticatedUser } from '../graphql/context.js';
import { isUuid } from '../validation.js';
import { InvalidTokenError, type TokenRejectionReason } from './invalid-token.error.js';
import { keyResolver, type KeyResolver, type KeySource } from './key-set.js';
import type { RevocationList } from './revocation-list.js';

export interface TokenVerifierOptions {
  /** Expected `iss`: identity's issuer. */
  issuer: string;
  /** Expected `aud`. */
  audience: string;
  /** Remote JWKS (other services) or a local key set (identity itself, no HTTP round trip). */
  keys: KeySource;
  /** Accepted `alg` values, pinned so the token cannot choose its own; default `['EdDSA']`. */
  algorithms?: string[];
  /** Allowed clock skew between identity and this service, in seconds; default 5. */
  clockToleranceSec?: number;
  /** Sessions and users revoked before their tokens expire. */
  revocations?: RevocationList;
  /**
   * Whether `revocations` is known to be complete (RevocationSync): when not, every token is
   * refused with UNAVAILABLE rather than honoured on stale state.
   */
  freshness?: { assertFresh(): void };
  /** Warned when identity's key set cannot be fetched. */
  logger?: Logger;
  /** Verified tokens remembered (LRU, keyed by the token); default 10,000, 0 turns the cache off. */
  cacheSize?: number;
  /** Longest a verified token is remembered, in ms, even if it lives longer; default 5 minutes. */
  cacheMaxAgeMs?: number;
}

interface CachedToken {
  verified: VerifiedToken;
  iat: number;
  /** Epoch ms after which the entry is ignored: the token's expiry, or sooner. */
  until: number;
}

/** A verified access token: the caller, and when the token stops being valid (epoch ms). */
export interface VerifiedToken extends AuthenticatedUser {
  sessionId: string;
  expiresAt: number;
}

/** The request shape `authenticate` needs: Express and `node:http` requests both fit. */
export interface HeaderCarrier {
  headers: Record<string, string | string[] | undefined>;
}

/** Tokens are a few hundred bytes; anything this long is refused before any parsing. */
const MAX_TOKEN_LENGTH = 8192;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
/** Signature algorithms only: a shared-secret algorithm would let a public key act as the secret. */
const FORBIDDEN_ALGORITHMS = /^(none|HS\d+)$/i;

/**
 * Verifies identity's access tokens: EdDSA signatures from identity's key set, pinned
 * algorithms, issuer and audience, required `sub`/`sid`/`exp`/`iat`, and revocations. Every
 * refusal is an InvalidTokenError (UNAUTHENTICATED) with one generic message.
 */
export class TokenVerifier {
  readonly #issuer: string;
  readonly #audience: string;
  readonly #algorithms: string[];
  readonly #clockToleranceSec: number;
  readonly #revocations: RevocationList | undefined;
  readonly #freshness: { assertFresh(): void } | undefined;
  readonly #keys: KeyResolver;
  /** Verified tokens, least recently used evicted first; absent when `cacheSize` is 0. */
  readonly #cache: LRUCache<string, CachedToken> | undefined;
  readonly #cacheMaxAgeMs: number;

  constructor(options: TokenVerifierOptions) {
    if (!options.issuer || !options.audience) throw new TypeError('TokenVerifier needs an issuer and an audience');
    const algorithms = options.algorithms ?? ['EdDSA'];
    if (algorithms.length === 0 || algorithms.some((alg) => FORBIDDEN_ALGORITHMS.test(alg))) {
      throw new TypeError(`TokenVerifier algorithms must be asymmetric signature algorithms: ${algorithms.join(', ')}`);
    }
    this.#issuer = options.issuer;
    this.#audience = options.audience;
    this.#algorithms = [...algorithms];
    this.#clockToleranceSec = options.clockToleranceSec ?? 5;
    this.#revocations = options.revocations;
    this.#freshness = options.freshness;
    this.#keys = keyResolver(options.keys, options.logger);
    const cacheSize = options.cacheSize ?? 10_000;
    this.#cache = cacheSize > 0 ? new LRUCache({ max: cacheSize }) : undefined;
    this.#cacheMaxAgeMs = options.cacheMaxAgeMs ?? 300_000;
  }

  /**
   * Verifies one token; throws InvalidTokenError, whose `reason` says why, when it is refused.
   *
   * A client sends the same token with every request for its whole life, and checking its
   * signature is most of the cost of authenticating a request, so tokens that verified are
   * remembered (bounded LRU, keyed by the token itself). A remembered token is still checked
   * against the revocation list on every use, so a revoked session or deleted user is refused at
   * once, and is forgotten at its expiry (`exp`, without clock tolerance) or after
   * `cacheMaxAgeMs`, whichever comes first, which also bounds how long a key withdrawn from
   * identity's key set keeps working. Refusals are never remembered.
   */
  async verify(token: string): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
      throw new InvalidTokenError('malformed', 'not a string or too long');
    }
    this.#freshness?.assertFresh();
    const cached = this.#cache?.get(token);
    if (cached) {
      if (cached.until > Date.now()) {
        const { verified, iat } = cached;
        if (this.#revocations?.isRevoked({ sub: verified.id, sid: verified.sessionId, iat })) {
          throw new InvalidTokenError('revoked');
        }
        return { ...verified };
      }
      this.#cache!.delete(token);
    }
    const { verified, iat } = await this.#verifySignedToken(token);
    this.#remember(token, verified, iat);
    return verified;
  }

  /** Tokens remembered right now (metrics and tests). */
  get cachedTokens(): number {
    return this.#cache?.size ?? 0;
  }

  #remember(token: string, verified: VerifiedToken, iat: number): void {
    const now = Date.now();
    const until = Math.min(verified.expiresAt, now + this.#cacheMaxAgeMs);
    if (!this.#cache || until <= now) return;
    this.#cache.set(token, { verified: { ...verified }, iat, until });
  }

  async #verifySignedToken(token: string): Promise<{ verified: VerifiedToken; iat: number }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys, {
        issuer: this.#issuer,
        audience: this.#audience,
        algorithms: this.#algorithms,
        clockTolerance: this.#clockToleranceSec,
        requiredClaims: ['sub', 'sid', 'exp', 'iat'],
      }));
    } catch (error) {
      throw asRejection(error);
    }
    const { sub, sid, iat, exp, perm, akid, org } = payload as JWTPayload & {
      sid?: unknown;
      org?: unknown;
      iat: number;
      exp: number;
      perm?: unknown;
      akid?: unknown;
    };
    if (!isUuid(sub)) throw new InvalidTokenError('invalid-claims', 'sub is not a uuid');
    if (!isUuid(sid)) throw new InvalidTokenError('invalid-claims', 'sid is not a uuid');
    if (org !== undefined && !isUuid(org)) throw new InvalidTokenError('invalid-claims', 'org is not a uuid');
    // jose checks `iat` in the future only with maxTokenAge; a future `iat` would also dodge
    // user revocations, which compare against it.
    if (iat > Date.now() / 1000 + this.#clockToleranceSec) {
      throw new InvalidTokenError('invalid-claims', 'iat in the future');
    }
    const user = {
      id: sub.toLowerCase(),
      sessionId: sid.toLowerCase(),
      ...apiKeyClaims(perm, akid),
      ...(org === undefined ? {} : { organizationId: org.toLowerCase() }),
    };
    if (this.#revocations?.isRevoked({ sub: user.id, sid: user.sessionId, iat })) {
      throw new InvalidTokenError('revoked');
    }
    return { verified: { ...user, expiresAt: exp * 1000 }, iat };
  }

  /**
   * The caller of a request: undefined without an Authorization header (anonymous), the user
   * for a valid `Bearer` token, InvalidTokenError for anything else, so a broken token is
   * reported rather than silently downgraded to anonymous. The user carries the token itself,
   * so the service can forward it when it asks authz for the caller's permissions.
   */
  async authenticate(req: HeaderCarrier): Promise<AuthenticatedUser | undefined> {
    const header = req.headers.authorization;
    if (header === undefined) return undefined;
    const value = Array.isArray(header) ? (header.length === 1 ? header[0] : undefined) : header;
    const token = value === undefined ? undefined : BEARER.exec(value)?.[1];
    if (token === undefined) throw new InvalidTokenError('bad-scheme');
    const { id, sessionId, restriction, apiKeyId, organizationId } = await this.verify(token);
    return {
      id,
      sessionId,
      token,
      ...(restriction ? { restriction, apiKeyId } : {}),
      ...(organizationId ? { organizationId } : {}),
    };
  }
}

/**
 * An API key's token (identity's key exchange) names the key (`akid`) and the only permissions
 * it may use (`perm`); both or neither. A token restricting to something unreadable is refused
 * rather than read as unrestricted.
 */
function apiKeyClaims(perm: unknown, akid: unknown): { restriction?: string[]; apiKeyId?: string } {
  if (perm === undefined && akid === undefined) return {};
  if (!Array.isArray(perm) || !perm.every((name) => typeof name === 'string') || !isUuid(akid)) {
    throw new InvalidTokenError('invalid-claims', 'perm must be a list of permissions and akid a uuid');
  }
  return { restriction: Object.freeze([...perm]) as string[], apiKeyId: akid.toLowerCase() };
}

const JOSE_REASONS: Record<string, TokenRejectionReason> = {
  ERR_JWT_EXPIRED: 'expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'bad-signature',
  ERR_JOSE_ALG_NOT_ALLOWED: 'algorithm-not-allowed',
  ERR_JOSE_NOT_SUPPORTED: 'algorithm-not-allowed',
  ERR_JWKS_NO_MATCHING_KEY: 'unknown-key',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'unknown-key',
  ERR_JWKS_INVALID: 'keys-unavailable',
  ERR_JWK_INVALID: 'keys-unavailable',
  ERR_JWKS_TIMEOUT: 'keys-unavailable',
  ERR_JWS_INVALID: 'malformed',
  ERR_JWT_INVALID: 'malformed',
};

const CLAIM_REASONS: Record<string, TokenRejectionReason> = { iss: 'wrong-issuer', aud: 'wrong-audience' };

/** Maps whatever verification threw to an InvalidTokenError; nothing else leaves `verify`. */
function asRejection(error: unknown): InvalidTokenError {
  if (error instanceof InvalidTokenError) return error;
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new InvalidTokenError(CLAIM_REASONS[error.claim] ?? 'invalid-claims', error.message);
  }
  if (error instanceof errors.JOSEError) {
    return new InvalidTokenError(JOSE_REASONS[error.code] ?? 'malformed', error.message);
  }
  return new InvalidTokenError('malformed', error instanceof Error ? error.message : String(error));
}
