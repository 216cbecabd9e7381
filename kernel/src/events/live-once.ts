import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { EventHandler } from './bus.js';

/**
 * How long a live group remembers the events it handled: longer than an event can come again.
 * Events come again when an outbox row is published a second time (its relay died between
 * publishing and marking it, or stalled past its claim lease of 30 s, and another instance's
 * relay took it), when a group member died after handling an entry but before acknowledging it
 * (another member claims it after `claimIdleMs`, 30 s), and when every relay replays its last hour
 * after Redis lost the stream. Live feeds drop events older than a minute themselves, so ten
 * minutes covers what they could still announce.
 */
export const LIVE_ONCE_MS = 10 * 60_000;

/** Which events each live group handled recently, shared by every member of the group. */
export interface HandledEvents {
  has(group: string, eventId: string): Promise<boolean>;
  add(group: string, eventId: string): Promise<void>;
}

/**
 * A live group's handler (SubscribeOptions.live: it feeds subscribers, and announcing an event
 * twice cannot be undone) that skips an event id the group handled within `LIVE_ONCE_MS`.
 * Handlers of other groups are idempotent by contract (a unique key, `handleOnce`) and are not
 * wrapped. The id is remembered once the handler succeeded, so a failure is still retried; two
 * deliveries of one event handled at the very same time both run (a redelivery comes seconds
 * later: a lapsed claim or lease).
 */
export function liveOnce(handler: EventHandler, group: string, handled: HandledEvents, logger: Logger): EventHandler {
  return async (event) => {
    const id = typeof event?.id === 'string' ? event.id : undefined;
    if (id !== undefined && (await handled.has(group, id))) {
      logger.debug({ eventId: id, topic: event.topic, group }, 'event already handled by this live group; skipped');
      return;
    }
    await handler(event);
    if (id === undefined) return;
    // Handled all the same: failing to remember it risks a duplicate, not a loss.
    await handled
      .add(group, id)
      .catch((error: unknown) =>
        logger.warn(
          { err: error, eventId: id, group },
          'could not remember a handled event; a redelivery would repeat it',
        ),
      );
  };
}

/** Handled events in Redis: one key per group and event, expiring after `ttlMs`. */
export class RedisHandledEvents implements HandledEvents {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;

  constructor(redis: Redis, prefix: string, ttlMs = LIVE_ONCE_MS) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlMs = ttlMs;
  }

  key(group: string, eventId: string): string {
    return `${this.#prefix}:${group}:${eventId}`;
  }

  async has(group: string, eventId: string): Promise<boolean> {
    return (await this.#redis.exists(this.key(group, eventId))) === 1;
  }

  async add(group: string, eventId: string): Promise<void> {
    await this.#redis.set(this.key(group, eventId), '1', 'PX', this.#ttlMs);
  }
}

/** Handled events in memory, for the buses of one process (one broker). */
export class MemoryHandledEvents implements HandledEvents {
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** `group\0id` → when it is forgotten; insertion order is expiry order (one TTL for all). */
  readonly #until = new Map<string, number>();

  constructor(ttlMs = LIVE_ONCE_MS, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  async has(group: string, eventId: string): Promise<boolean> {
    const until = this.#until.get(`${group}\0${eventId}`);
    return until !== undefined && until > this.#now();
  }

  async add(group: string, eventId: string): Promise<void> {
    const now = this.#now();
    for (const [key, until] of this.#until) {
      if (until > now) break;
      this.#until.delete(key);
    }
    const key = `${group}\0${eventId}`;
    this.#until.delete(key);
    this.#until.set(key, now + this.#ttlMs);
  }

  /** Entries held (expired ones go as new ones arrive). */
  get size(): number {
    return this.#until.size;
  }
}
