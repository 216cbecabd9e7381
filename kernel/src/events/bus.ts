import { setTimeout as sleepFor } from 'node:timers/promises';
import type { PlatformEvent } from './event.js';
import { backoffDelay } from '../retry/backoff.js';

/** Handles one event; throwing means "retry later". Must be idempotent by `event.id`. */
export type EventHandler = (event: PlatformEvent) => Promise<void> | void;

/** Stops one subscription or listener; in-flight handling finishes first. */
export interface Subscription {
  close(): Promise<void>;
}

export interface SubscribeOptions {
  /**
   * Consumer group: one member of a group handles each event; every group gets every event.
   * Give a group ONE pattern: on Redis a group is one cursor over the stream, and a member with
   * another pattern acknowledges (drops) what it does not match. Use one group per pattern.
   */
  group: string;
  /** Deliveries before the event goes to the dead letter; default 5. */
  maxAttempts?: number;
  /**
   * The group feeds live subscribers, who wait for it (e.g. a subscription's feed). What it does
   * cannot be undone by a database row, so the bus makes it at most once per event id within 10
   * minutes (`liveOnce`): a redelivery (an outbox row published again after its relay died or
   * stalled, an entry claimed from a dead member, a replay after Redis lost data) is skipped, on
   * Redis across every instance, and of two deliveries at once one runs while the other waits. The in-memory bus also starts such groups' deliveries of an event
   * before the others': every group runs on the one event loop, and a handler whose database
   * answers without yielding (the embedded PGlite) would otherwise finish its whole transaction
   * first (measured: audit's ~6 ms append before `postCreated`'s feed).
   */
  live?: boolean;
  /**
   * Hears each failed delivery of this subscription (the kernel publishes a module consumer's to
   * the error bus). Returns true when it logged the failure itself: the bus then logs no line of
   * its own for it.
   */
  onFailure?: FailureListener;
}

/** One failed delivery: the event, which try it was, and whether the event is now dead-lettered. */
export type FailureListener = (
  error: unknown,
  failure: { event: PlatformEvent; group: string; attempt: number; dead: boolean },
) => boolean;

/**
 * How modules tell each other what happened. Two transports share these semantics: in memory
 * for the embedded single-process platform, Redis Streams when `REDIS_URL` is set.
 */
export interface EventBus {
  readonly kind: 'memory' | 'redis';
  /** Resolves once the bus has durably accepted the events (Redis: XADD done). Throws if it cannot. */
  publish(events: PlatformEvent | PlatformEvent[]): Promise<void>;
  /** Durable, at-least-once per group; one member of the group handles each matching event. */
  subscribe(pattern: string, handler: EventHandler, options: SubscribeOptions): Promise<Subscription>;
  /** Fan-out to every process: ephemeral, for cache invalidation (only while listening). */
  listen(pattern: string, handler: EventHandler): Promise<Subscription>;
  /**
   * Called when the bus noticed that its backing store lost data (Redis restarted without
   * persistence, or the stream vanished), so the outbox can re-publish recent events.
   * Returns a function that removes the listener.
   */
  onReset?(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Backoff between deliveries of an event whose handler threw. */
export interface RetryOptions {
  /** Delay before the second delivery; default 100 ms. */
  baseDelayMs?: number;
  /** Upper bound of any delay; default 30 s. */
  maxDelayMs?: number;
}

/** An event that exhausted its attempts in one group: logged, kept for inspection, acknowledged. */
export interface DeadLetter {
  event: PlatformEvent;
  group: string;
  error: string;
  attempts: number;
  failedAt: string;
}

export const DEFAULT_MAX_ATTEMPTS = 5;

/**
 * Delay after the `attempt`-th failed delivery: exponential from the base, capped, with
 * "equal jitter" (half fixed, half random) so retries of many events spread out but a retry
 * never comes immediately.
 */
export function retryDelay(attempt: number, retry: RetryOptions = {}): number {
  return backoffDelay(attempt, {
    baseMs: retry.baseDelayMs ?? 100,
    maxMs: retry.maxDelayMs ?? 30_000,
    jitter: 'equal',
  });
}

export function normalizeEvents(events: PlatformEvent | PlatformEvent[]): PlatformEvent[] {
  return Array.isArray(events) ? events : [events];
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}

/** Waits, returning early (without throwing) when the signal aborts. */
export async function sleep(ms: number, signal?: AbortSignal, ref = true): Promise<void> {
  try {
    await sleepFor(ms, undefined, { signal, ref });
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
  }
}

export function assertGroup(group: string): void {
  if (typeof group !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(group)) {
    throw new Error(`Invalid consumer group ${JSON.stringify(group)}: use letters, digits and . _ : -`);
  }
}

export function assertMaxAttempts(maxAttempts: number): void {
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new Error(`Invalid maxAttempts ${maxAttempts}: expected a positive integer`);
  }
}

/** Counts work in progress so `close()` can wait for it, with a bound. */
export class InFlight {
  #count = 0;
  #waiters: Array<() => void> = [];

  get count(): number {
    return this.#count;
  }

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    this.#count++;
    try {
      return await fn();
    } finally {
      this.#count--;
      if (this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`; true if it is idle. */
  async idle(timeoutMs: number): Promise<boolean> {
    if (this.#count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | undefined;
    const idle = new Promise<boolean>((resolve) => {
      wake = () => resolve(true);
      this.#waiters.push(wake);
    });
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
      this.#waiters = this.#waiters.filter((waiter) => waiter !== wake);
    }
  }
}
