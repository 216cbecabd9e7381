import { randomUUID } from 'node:crypto';
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

/** How long a member's claim on an event holds while its handler runs (a live handler takes milliseconds). */
export const LIVE_CLAIM_MS = 15_000;

/** What a member found when it went to claim an event for its group. */
export type LiveClaim = 'claimed' | 'handled' | 'busy';

/**
 * Which events each live group handled recently, shared by every member of the group. Claiming
 * is atomic: of two deliveries of one event handled at the same time (a lapsed stream claim and
 * an outbox row published again both come 30 s after an instance froze), one runs the handler,
 * the other waits for its outcome.
 */
export interface HandledEvents {
  /**
   * `claimed`: this member handles it, for up to `leaseMs`; `handled`: the group did already;
   * `busy`: another member is handling it now.
   */
  claim(group: string, eventId: string, leaseMs: number): Promise<LiveClaim>;
  /** The claimed event was handled: remembered for the window. */
  done(group: string, eventId: string): Promise<void>;
  /** The claimed event's handler failed: forgotten, so a retry (by any member) runs it. */
  release(group: string, eventId: string): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A live group's handler (SubscribeOptions.live: it feeds subscribers, and announcing an event
 * twice cannot be undone) that skips an event id the group handled within `LIVE_ONCE_MS`.
 * Handlers of other groups are idempotent by contract (a unique key, `handleOnce`) and are not
 * wrapped. The id is claimed before the handler runs and remembered once it succeeded; a failure
 * releases it, so the event is still retried. A delivery that finds the event being handled by
 * another member waits for that outcome (polling every `pollMs`); if the claim is still held
 * after its lease, the delivery fails and the stream retries it.
 *
 * Left at least once: a member that announced an event and lost Redis before it could say so
 * (its claim lapses; another member announces it again).
 */
export function liveOnce(
  handler: EventHandler,
  group: string,
  handled: HandledEvents,
  logger: Logger,
  { leaseMs = LIVE_CLAIM_MS, pollMs = 100 }: { leaseMs?: number; pollMs?: number } = {},
): EventHandler {
  return async (event) => {
    const id = typeof event?.id === 'string' ? event.id : undefined;
    if (id === undefined) return handler(event);
    let claim = await handled.claim(group, id, leaseMs);
    for (const deadline = Date.now() + leaseMs + pollMs; claim === 'busy' && Date.now() < deadline;) {
      await sleep(pollMs);
      claim = await handled.claim(group, id, leaseMs);
    }
    if (claim === 'handled') {
      logger.debug({ eventId: id, topic: event.topic, group }, 'event already handled by this live group; skipped');
      return;
    }
    if (claim === 'busy') throw new Error(`event ${id} is still being handled by another member of ${group}`);
    try {
      await handler(event);
    } catch (error) {
      await handled
        .release(group, id)
        .catch((cause: unknown) =>
          logger.warn(
            { err: cause, eventId: id, group },
            'could not release a failed event; it is retried once its claim lapses',
          ),
        );
      throw error;
    }
    // Handled all the same: failing to remember it risks a duplicate, not a loss.
    await handled
      .done(group, id)
      .catch((error: unknown) =>
        logger.warn(
          { err: error, eventId: id, group },
          'could not remember a handled event; a redelivery would repeat it',
        ),
      );
  };
}

/**
 * GET the key; absent: set it to the claimant's token for the lease (`claimed`); `done`: `handled`;
 * otherwise `busy`. One script, so two claimants never both win.
 */
const CLAIM_SCRIPT = `
local value = redis.call('GET', KEYS[1])
if not value then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'claimed'
end
if value == 'done' then return 'handled' end
return 'busy'
`;

/** Deletes the key if it still holds this claimant's token. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Handled events in Redis: one key per group and event (a claimant's token, then `done` until it expires). */
export class RedisHandledEvents implements HandledEvents {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlMs: number;
  /** This process's claims are marked with it (a released claim must be its own). */
  readonly #token = `claim:${randomUUID()}`;

  constructor(redis: Redis, prefix: string, ttlMs = LIVE_ONCE_MS) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlMs = ttlMs;
  }

  key(group: string, eventId: string): string {
    return `${this.#prefix}:${group}:${eventId}`;
  }

  async claim(group: string, eventId: string, leaseMs: number): Promise<LiveClaim> {
    return (await this.#redis.eval(CLAIM_SCRIPT, 1, this.key(group, eventId), this.#token, leaseMs)) as LiveClaim;
  }

  async done(group: string, eventId: string): Promise<void> {
    await this.#redis.set(this.key(group, eventId), 'done', 'PX', this.#ttlMs);
  }

  async release(group: string, eventId: string): Promise<void> {
    await this.#redis.eval(RELEASE_SCRIPT, 1, this.key(group, eventId), this.#token);
  }
}

/** Handled events in memory, for the buses of one process (one broker). */
export class MemoryHandledEvents implements HandledEvents {
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** `group\0id` → when it is forgotten; insertion order is expiry order (one TTL for all). */
  readonly #until = new Map<string, number>();
  /** `group\0id` → when a claim being handled lapses. */
  readonly #claims = new Map<string, number>();

  constructor(ttlMs = LIVE_ONCE_MS, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  async claim(group: string, eventId: string, leaseMs: number): Promise<LiveClaim> {
    const key = `${group}\0${eventId}`;
    const now = this.#now();
    const until = this.#until.get(key);
    if (until !== undefined && until > now) return 'handled';
    const lapses = this.#claims.get(key);
    if (lapses !== undefined && lapses > now) return 'busy';
    this.#claims.set(key, now + leaseMs);
    return 'claimed';
  }

  async done(group: string, eventId: string): Promise<void> {
    const now = this.#now();
    for (const [key, until] of this.#until) {
      if (until > now) break;
      this.#until.delete(key);
    }
    const key = `${group}\0${eventId}`;
    this.#claims.delete(key);
    this.#until.delete(key);
    this.#until.set(key, now + this.#ttlMs);
  }

  async release(group: string, eventId: string): Promise<void> {
    this.#claims.delete(`${group}\0${eventId}`);
  }

  /** Entries held (expired ones go as new ones arrive). */
  get size(): number {
    return this.#until.size;
  }
}
