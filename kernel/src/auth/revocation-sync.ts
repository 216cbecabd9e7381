import type { Logger } from 'pino';
import { z } from 'zod';
import { PlatformError } from '../errors.js';
import { SERVICE_CREDENTIAL_HEADER } from '../security/service-credential.js';
import type { RevocationList, RevocationSnapshot } from './revocation-list.js';
import { backoffDelay } from '../retry/backoff.js';

/** identity's side of the contract: subgraphs/identity/src/module.ts. */
export const REVOCATIONS_PATH = '/internal/revocations';

/** Revocations made since `sinceMs` (all live ones without it), and identity's clock when read. */
export interface RevocationsSince {
  snapshot: RevocationSnapshot;
  /** identity's clock when it read them: the next read asks from shortly before this. */
  asOfMs: number;
}

/** Where revocations come from: identity over HTTP, or identity's own database for identity itself. */
export type RevocationSource = (sinceMs: number | undefined) => Promise<RevocationsSince>;

const answerSchema = z.object({
  sessions: z.array(z.object({ id: z.string(), untilMs: z.number() })),
  users: z.array(z.object({ id: z.string(), revokedAtMs: z.number(), untilMs: z.number() })),
  asOfMs: z.number(),
});

/**
 * identity's `GET /internal/revocations?since=<ms>` over HTTP, with the service credential; each
 * read bounded by `timeoutMs`.
 */
export function remoteRevocations(options: {
  url: () => string | undefined;
  credential?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}): RevocationSource {
  const fetchImpl = options.fetch ?? fetch;
  return async (sinceMs) => {
    const base = options.url();
    if (!base) throw new Error("identity's URL is not known yet");
    const url = new URL(REVOCATIONS_PATH, base);
    if (sinceMs !== undefined) url.searchParams.set('since', String(Math.floor(sinceMs)));
    const response = await fetchImpl(url, {
      headers: options.credential ? { [SERVICE_CREDENTIAL_HEADER]: options.credential } : {},
      signal: AbortSignal.timeout(options.timeoutMs ?? 2_000),
    });
    if (!response.ok) throw new Error(`identity answered ${response.status} (GET ${url.pathname})`);
    const { asOfMs, ...snapshot } = answerSchema.parse(await response.json());
    return { snapshot, asOfMs };
  };
}

/**
 * UNAVAILABLE (HTTP 503): this service cannot confirm that the caller's session is still valid
 * (identity unreachable beyond the revocation bound), so it refuses rather than trust stale state.
 */
export class RevocationsStaleError extends PlatformError {
  readonly code = 'UNAVAILABLE' as never;
  readonly httpStatus = 503;
  constructor(staleMs: number) {
    super(
      `Sessions cannot be checked right now (revocations last confirmed ${Math.round(staleMs / 1000)} s ago); try again shortly`,
      { retryAfter: 5 },
    );
    this.extensions.code = 'UNAVAILABLE';
  }
}

export interface RevocationSyncOptions {
  revocations: RevocationList;
  source: RevocationSource;
  logger: Logger;
  /**
   * The bound: a revocation is honoured everywhere within this time, whatever else fails. Reads
   * run every third of it; when none succeeded for this long, authenticated requests are refused.
   */
  boundMs: number;
  /** Hears what each read added (the gateway closes those sessions' sockets). */
  onRevoked?: (added: ReturnType<RevocationList['load']>) => void;
  /** Hears each failed read (counted as `dependency_errors_total{dependency="identity"}`). */
  onFailure?: (error: unknown) => void;
  /** Clock in epoch ms; tests pass a fake one. */
  now?: () => number;
}

/** Longest time between two reads, whatever the bound: the list is also the service's only source when the bus is down. */
const MAX_INTERVAL_MS = 2000;
/** First retry after a failed read. */
const RETRY_MS = 250;

/** Overlap of successive reads, so a revocation committed late with an earlier timestamp is not missed. */
const OVERLAP_MS = 10_000;

/**
 * Keeps a service's revocation list complete within a bound, with or without the event bus:
 * broadcasts (when the bus works) make revocations take effect at once; a read of identity's
 * durable revocations every `boundMs / 3` makes sure none is missed for longer than the bound
 * (the bus down, a message lost, the service started late). `fresh` turns false when no read
 * succeeded within the bound: the token verifier then refuses authenticated requests
 * (RevocationsStaleError) instead of honouring a token that may have been revoked meanwhile.
 */
export class RevocationSync {
  readonly #options: RevocationSyncOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #confirmedAt: number | undefined;
  #since: number | undefined;
  #lastError: string | undefined;
  #reading: Promise<boolean> | undefined;
  #stopped = false;

  constructor(options: RevocationSyncOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Reads once (waiting for it), then every third of the bound (at most every 2 s) until closed;
   * after a failed read, again within a quarter second, doubling up to that interval, so a
   * service whose first read failed (identity still starting, or slow) is not left unable to
   * confirm anything for a whole interval.
   */
  async start(): Promise<void> {
    const interval = Math.max(100, Math.min(this.#options.boundMs / 3, MAX_INTERVAL_MS));
    let failures = 0;
    const tick = (succeeded: boolean): void => {
      if (this.#stopped) return;
      failures = succeeded ? 0 : failures + 1;
      const delay = succeeded ? interval : backoffDelay(failures, { baseMs: RETRY_MS, maxMs: interval });
      this.#timer = setTimeout(() => void this.read().then(tick), delay);
      this.#timer.unref();
    };
    tick(await this.read());
  }

  /** One read of identity's revocations (joined when one is already on its way); true when it succeeded. */
  read(): Promise<boolean> {
    this.#reading ??= this.#read().finally(() => (this.#reading = undefined));
    return this.#reading;
  }

  async #read(): Promise<boolean> {
    const started = this.#now();
    try {
      const { snapshot, asOfMs } = await this.#options.source(this.#since);
      const added = this.#options.revocations.load(snapshot);
      if (added.sessions.length + added.users.length > 0) this.#options.onRevoked?.(added);
      this.#since = asOfMs - OVERLAP_MS;
      this.#confirmedAt = started;
      if (this.#lastError) this.#options.logger.info('revocations confirmed with identity again');
      this.#lastError = undefined;
      return true;
    } catch (error) {
      this.#options.onFailure?.(error);
      const message = error instanceof Error ? error.message : String(error);
      if (this.#lastError === undefined) {
        this.#options.logger.warn({ err: message }, 'could not read revocations from identity; retrying');
      }
      this.#lastError = message;
      return false;
    }
  }

  /** Milliseconds since the last successful read (Infinity before the first). */
  get staleMs(): number {
    return this.#confirmedAt === undefined ? Number.POSITIVE_INFINITY : this.#now() - this.#confirmedAt;
  }

  /** Whether the list is known to be complete within the bound. */
  get fresh(): boolean {
    return this.staleMs <= this.#options.boundMs;
  }

  /** Throws RevocationsStaleError when the list cannot be trusted (for the token verifier). */
  assertFresh(): void {
    if (!this.fresh)
      throw new RevocationsStaleError(Number.isFinite(this.staleMs) ? this.staleMs : this.#options.boundMs);
  }

  /** For `/ready`: reported, not fatal (anonymous requests are still served). */
  status(): { ok: boolean; lastConfirmedMsAgo: number | null; detail?: string } {
    const stale = this.staleMs;
    return {
      ok: this.fresh,
      lastConfirmedMsAgo: Number.isFinite(stale) ? stale : null,
      ...(this.#lastError ? { detail: this.#lastError } : {}),
    };
  }

  close(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}
