import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  type CryptoKey,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWTHeaderParameters,
} from 'jose';
import type { Logger } from 'pino';
import { InvalidTokenError } from './invalid-token.error.js';

/** identity's published key set, fetched over HTTP (every service but identity). */
export interface RemoteKeySource {
  /** `<identity>/.well-known/jwks.json` */
  url: string;
  /**
   * Least time between two fetches caused by unknown `kid`s, so garbage tokens cannot hammer
   * identity; also how long a failed fetch is not retried while a cached set is served.
   * Default 30 s.
   */
  cooldownMs?: number;
  /** Age after which the set is refetched before use, picking up rotations. Default 10 min. */
  cacheMaxAgeMs?: number;
  /** Time allowed for one fetch. Default 5 s. */
  timeoutMs?: number;
}

/** identity's own key set, read in-process: no HTTP round trip to itself. */
export interface LocalKeySource {
  /** Called on every verification; cheap when it returns the same keys (they are imported once). */
  local: () => Promise<JSONWebKeySet> | JSONWebKeySet;
}

export type KeySource = RemoteKeySource | LocalKeySource;

/** Finds the verification key of one token; errors are InvalidTokenError or jose errors. */
export type KeyResolver = (header: JWTHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

type LocalSet = ReturnType<typeof createLocalJWKSet>;

/** Builds the resolver for a key source. */
export function keyResolver(source: KeySource, logger?: Logger): KeyResolver {
  if ('local' in source) return localResolver(source);
  const remote = new RemoteKeySet(source, logger);
  return (header, token) => remote.key(header, token);
}

/** identity signs every token with a `kid`; without one, any key of the set could be tried. */
function requireKid(header: JWTHeaderParameters): void {
  if (typeof header.kid !== 'string' || header.kid.length === 0) {
    throw new InvalidTokenError('malformed', 'missing kid header');
  }
}

function localResolver(source: LocalKeySource): KeyResolver {
  let cached: { fingerprint: string; set: LocalSet } | undefined;
  return async (header, token) => {
    requireKid(header);
    let jwks: JSONWebKeySet;
    try {
      jwks = await source.local();
    } catch (error) {
      throw new InvalidTokenError('keys-unavailable', describe(error));
    }
    // Keyed by content, not identity: importing keys is the costly part, and a provider that
    // builds a fresh object per call must not cost an import per request.
    const fingerprint = JSON.stringify(jwks);
    if (cached?.fingerprint !== fingerprint) cached = { fingerprint, set: createLocalJWKSet(jwks) };
    return cached.set(header, token);
  };
}

/**
 * jose's remote set (cache, refetch on unknown `kid` with a cooldown, timeouts) plus
 * stale-if-error: when identity is unreachable, the last set fetched keeps serving the keys it
 * has, and the fetch is not retried for `cooldownMs`, so an outage neither locks everyone out
 * nor adds a timeout to every request.
 */
class RemoteKeySet {
  readonly #remote: ReturnType<typeof createRemoteJWKSet>;
  readonly #url: string;
  readonly #retryAfterFailureMs: number;
  readonly #logger: Logger | undefined;
  #failedAt = Number.NEGATIVE_INFINITY;
  #stale: LocalSet | undefined;

  constructor(source: RemoteKeySource, logger?: Logger) {
    const cooldownMs = source.cooldownMs ?? 30_000;
    this.#url = source.url;
    this.#retryAfterFailureMs = cooldownMs;
    this.#logger = logger;
    this.#remote = createRemoteJWKSet(new URL(source.url), {
      cooldownDuration: cooldownMs,
      cacheMaxAge: source.cacheMaxAgeMs ?? 600_000,
      timeoutDuration: source.timeoutMs ?? 5_000,
    });
  }

  async key(header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> {
    requireKid(header);
    if (this.#stale && Date.now() - this.#failedAt < this.#retryAfterFailureMs) return this.#stale(header, token);
    try {
      const key = await this.#remote(header, token);
      this.#stale = undefined;
      return key;
    } catch (error) {
      if (!isFetchFailure(error)) throw error;
      const last = this.#remote.jwks();
      if (!last) throw new InvalidTokenError('keys-unavailable', describe(error));
      if (!this.#stale) {
        this.#logger?.warn({ url: this.#url, err: error }, 'JWKS fetch failed; serving the cached key set');
        this.#stale = createLocalJWKSet(last);
      }
      this.#failedAt = Date.now();
      return this.#stale(header, token);
    }
  }
}

/** Network errors, timeouts, non-200 answers and malformed sets; not "no such kid". */
function isFetchFailure(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return (
    error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === 'ERR_JOSE_GENERIC'
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
