import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { ipBucket } from './throttle-keys.js';

/** The payload of `kernel.credential.refused`. */
export interface CredentialRefusedPayload {
  /** The module whose service refused (the audit record has no other trace of the event's source). */
  service: string;
  /** As `service_credential_refusals_total` labels it: `internal` (any `/internal/…`), `_service` or `/metrics`. */
  route: string;
  /** The path of the refusal that was recorded (at most 200 characters). */
  path: string;
  /** Whether a credential was presented at all (a wrong one) or none. */
  presented: boolean;
  /** Refusals of this route and address since the previous event for them, this one included. */
  attempts: number;
  /** At most one event per route and address per this many seconds. */
  windowSec: number;
}

/** One refusal, as the kernel's routes report it. */
export interface CredentialRefusal {
  /** The route's path (`/internal/revocations`, `/metrics`) or `_service`. */
  path: string;
  presented: boolean;
  /** The client address, when known. */
  ip?: string;
}

export interface CredentialRefusalsOptions {
  /** The module name, for the payload. */
  service: string;
  /** Writes the event (the module's outbox). Its failure is logged, never the caller's. */
  record(payload: CredentialRefusedPayload): Promise<void>;
  logger: Logger;
  /** Default 60. */
  windowSec?: number;
  /** Events recorded per window by this process, whatever the addresses; default 100. */
  maxEventsPerWindow?: number;
  /** Routes and addresses remembered (least recently used forgotten first); default 10 000. */
  maxKeys?: number;
  /** Default `Date.now`. */
  now?: () => number;
}

interface KeyState {
  /** When this key's current window began (its event was recorded). */
  windowStart: number;
  /** Refusals since then, to be counted in its next event. */
  unreported: number;
}

/** The route label of a path, as the refusals metric has it. */
export const refusalRoute = (path: string): string => (path.startsWith('/internal/') ? 'internal' : path);

/**
 * Turns refusals of the service credential into `kernel.credential.refused` events without
 * letting a flood of requests become a flood of writes: the first refusal of a route and client
 * address (IPv6 by /64) in a window is recorded at once (a dashboard sees it live), the rest are
 * counted and their count travels in that key's next event. Past `maxEventsPerWindow` events in
 * a window (many addresses), refusals are only counted. Per process: with N replicas, up to N
 * events per route and address per window. State is in memory and bounded (`maxKeys`); counts
 * of forgotten keys are lost, which only makes a later `attempts` smaller.
 */
export class CredentialRefusals {
  readonly #options: CredentialRefusalsOptions;
  readonly #windowMs: number;
  readonly #maxEvents: number;
  readonly #now: () => number;
  readonly #keys: LRUCache<string, KeyState>;
  #window = { start: Number.NEGATIVE_INFINITY, events: 0, capped: false };

  constructor(options: CredentialRefusalsOptions) {
    this.#options = options;
    this.#windowMs = (options.windowSec ?? 60) * 1000;
    this.#maxEvents = options.maxEventsPerWindow ?? 100;
    this.#now = options.now ?? Date.now;
    this.#keys = new LRUCache({ max: options.maxKeys ?? 10_000 });
  }

  /** Counts one refusal; records an event when it opens its key's window. Never throws. */
  refused({ path, presented, ip }: CredentialRefusal): void {
    const now = this.#now();
    const route = refusalRoute(path);
    const key = `${route}\u0000${ip ? ipBucket(ip) : '-'}`;
    const state = this.#keys.get(key);
    if (state && now - state.windowStart < this.#windowMs) {
      state.unreported += 1;
      return;
    }
    if (!this.#mayRecord(now)) {
      if (state) state.unreported += 1;
      else this.#keys.set(key, { windowStart: Number.NEGATIVE_INFINITY, unreported: 1 });
      return;
    }
    const attempts = (state?.unreported ?? 0) + 1;
    this.#keys.set(key, { windowStart: now, unreported: 0 });
    const payload: CredentialRefusedPayload = {
      service: this.#options.service,
      route,
      path: path.slice(0, 200),
      presented,
      attempts,
      windowSec: this.#windowMs / 1000,
    };
    this.#options.logger.warn(
      { path, presented, attempts },
      presented ? 'wrong service credential' : 'service route called without the service credential',
    );
    this.#options
      .record(payload)
      .catch((error: unknown) => this.#options.logger.error({ err: error, route }, 'credential refusal not recorded'));
  }

  /** Whether this process may record another event in the current window. */
  #mayRecord(now: number): boolean {
    if (now - this.#window.start >= this.#windowMs) this.#window = { start: now, events: 0, capped: false };
    if (this.#window.events < this.#maxEvents) {
      this.#window.events += 1;
      return true;
    }
    if (!this.#window.capped) {
      this.#window.capped = true;
      this.#options.logger.warn(
        { maxEventsPerWindow: this.#maxEvents },
        'service credential refusals from many addresses: only counted (metric) until the next window',
      );
    }
    return false;
  }
}
