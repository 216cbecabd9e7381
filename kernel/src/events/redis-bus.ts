import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { closeRedis, createRedis, disconnectRedis } from '../redis.js';
import {
  assertGroup,
  assertMaxAttempts,
  DEFAULT_MAX_ATTEMPTS,
  InFlight,
  normalizeEvents,
  type DeadLetter,
  type EventBus,
  type EventHandler,
  type RetryOptions,
  type SubscribeOptions,
  type Subscription,
} from './bus.js';
import { assertTopic, topicMatcher, type PlatformEvent } from './event.js';
import { liveOnce, LIVE_ONCE_MS, RedisHandledEvents } from './live-once.js';
import { execOrThrow, fieldOf, StreamConsumer, type StreamEntry } from './redis-consumer.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RedisEventBusOptions {
  /** Redis URL; alternatively `connect`. */
  url?: string;
  /** Makes a new connection (the bus needs several: commands, one per subscription, pub/sub). */
  connect?: (name: string, options: { blocking: boolean }) => Redis;
  logger: Logger;
  /**
   * Key prefix: `<prefix>:stream`, `<prefix>:dead`, `<prefix>:broadcast`, and
   * `<prefix>:handled:<group>:<event id>` for live groups. Default `platform:events`.
   */
  prefix?: string;
  /** Consumer name within groups; default host-pid-random. Each subscription appends a number. */
  consumer?: string;
  /** Stream entries older than this are trimmed (by age, never by count); default 7 days. */
  retentionMs?: number;
  retry?: RetryOptions;
  /** Pending entries idle this long belong to a dead consumer and are taken over; default 30 s. */
  claimIdleMs?: number;
  /** Longest single `XREADGROUP BLOCK`; default 5 s. */
  blockMs?: number;
  /** Entries read at once; default 50. */
  batchSize?: number;
  /** How often old entries are trimmed; default 5 min. */
  trimIntervalMs?: number;
  /** How long `close()` waits for handlers in flight; default 10 s. */
  closeTimeoutMs?: number;
  /** How long a live group remembers the event ids it handled (see `liveOnce`); default 10 min. */
  liveOnceMs?: number;
}

interface Listener {
  matches: (topic: string) => boolean;
  handler: EventHandler;
}

/**
 * The event bus across processes: one Redis stream for all topics (so ordering is global),
 * a consumer group per subscribing group, `XREADGROUP`/`XACK` for at-least-once delivery,
 * pending-entry reclaim for retries and dead consumers, and pub/sub for the ephemeral
 * `listen()` fan-out.
 */
export class RedisEventBus implements EventBus {
  readonly kind = 'redis' as const;
  readonly keys: { readonly stream: string; readonly dead: string; readonly broadcast: string };
  readonly #logger: Logger;
  readonly #connect: (name: string, blocking: boolean) => Redis;
  readonly #commands: Redis;
  readonly #consumerName: string;
  readonly #retentionMs: number;
  readonly #retry: RetryOptions;
  readonly #claimIdleMs: number;
  readonly #blockMs: number;
  readonly #batchSize: number;
  readonly #closeTimeoutMs: number;
  readonly #consumers = new Set<StreamConsumer>();
  readonly #listeners = new Set<Listener>();
  readonly #listening = new InFlight();
  readonly #resetListeners = new Set<() => void>();
  readonly #trimTimer: NodeJS.Timeout;
  readonly #handled: RedisHandledEvents;
  #pubsub: Redis | undefined;
  #pubsubReady: Promise<void> | undefined;
  #subscriptionCount = 0;
  #runId: string | undefined;
  #lastResetAt = 0;
  #closed: Promise<void> | undefined;

  constructor(options: RedisEventBusOptions) {
    const { url, connect } = options;
    if (!url && !connect) throw new Error('RedisEventBus needs a url or a connect function');
    this.#logger = options.logger.child({ component: 'event-bus', bus: 'redis' });
    this.#connect = connect
      ? (name, blocking) => connect(name, { blocking })
      : (name, blocking) => createRedis(url!, { name, logger: options.logger, blocking });
    const prefix = options.prefix ?? 'platform:events';
    this.keys = { stream: `${prefix}:stream`, dead: `${prefix}:dead`, broadcast: `${prefix}:broadcast` };
    this.#consumerName = options.consumer ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.#retentionMs = options.retentionMs ?? 7 * DAY_MS;
    this.#retry = options.retry ?? {};
    this.#claimIdleMs = options.claimIdleMs ?? 30_000;
    this.#blockMs = options.blockMs ?? 5000;
    this.#batchSize = options.batchSize ?? 50;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;

    this.#commands = this.#connect(`${this.#consumerName}:events`, false);
    this.#handled = new RedisHandledEvents(this.#commands, `${prefix}:handled`, options.liveOnceMs ?? LIVE_ONCE_MS);
    this.#commands.on('ready', () => void this.#checkRunId());
    this.#trimTimer = setInterval(() => void this.trim(), options.trimIntervalMs ?? 5 * 60_000);
    this.#trimTimer.unref();
  }

  async publish(events: PlatformEvent | PlatformEvent[]): Promise<void> {
    this.#assertOpen();
    const list = normalizeEvents(events);
    if (list.length === 0) return;
    for (const event of list) assertTopic(event.topic);
    // One transaction: the stream (durable, for groups) and the broadcast (for listeners) agree.
    const multi = this.#commands.multi();
    for (const event of list) multi.xadd(this.keys.stream, '*', 'topic', event.topic, 'event', JSON.stringify(event));
    multi.publish(this.keys.broadcast, JSON.stringify(list));
    await execOrThrow(multi);
  }

  async subscribe(pattern: string, handler: EventHandler, options: SubscribeOptions): Promise<Subscription> {
    this.#assertOpen();
    const matches = topicMatcher(pattern);
    assertGroup(options.group);
    const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    assertMaxAttempts(maxAttempts);
    const consumer = `${this.#consumerName}:${++this.#subscriptionCount}`;
    const stream = new StreamConsumer({
      commands: this.#commands,
      reader: this.#connect(`${consumer}:read`, true),
      stream: this.keys.stream,
      deadStream: this.keys.dead,
      group: options.group,
      consumer,
      matches,
      // Every instance's member of a live group shares what it handled: a redelivery is skipped.
      handler: options.live ? liveOnce(handler, options.group, this.#handled, this.#logger) : handler,
      onFailure: options.onFailure,
      maxAttempts,
      retry: this.#retry,
      claimIdleMs: this.#claimIdleMs,
      blockMs: this.#blockMs,
      batchSize: this.#batchSize,
      logger: this.#logger.child({ group: options.group, pattern }),
      onStreamLost: () => this.#reset('event stream lost'),
    });
    // With Redis up the group exists once this resolves; if it is down, the loop creates it later.
    let groupReady = true;
    try {
      await stream.ensureGroup();
    } catch (error) {
      groupReady = false;
      this.#logger.warn({ err: error, group: options.group }, 'could not create the consumer group yet; will retry');
    }
    stream.start(groupReady);
    this.#consumers.add(stream);
    let closing: Promise<void> | undefined;
    return {
      close: () => {
        closing ??= (async () => {
          this.#consumers.delete(stream);
          await stream.stop(this.#closeTimeoutMs);
        })();
        return closing;
      },
    };
  }

  async listen(pattern: string, handler: EventHandler): Promise<Subscription> {
    this.#assertOpen();
    const listener: Listener = { matches: topicMatcher(pattern), handler };
    this.#listeners.add(listener);
    try {
      await this.#ensurePubsub();
    } catch (error) {
      this.#listeners.delete(listener);
      throw error;
    }
    return {
      close: async () => {
        this.#listeners.delete(listener);
      },
    };
  }

  onReset(listener: () => void): () => void {
    this.#resetListeners.add(listener);
    return () => this.#resetListeners.delete(listener);
  }

  /** The most recent dead letters, newest first: what operators look at after an error alert. */
  async deadLetters(count = 100): Promise<DeadLetter[]> {
    const entries = (await this.#commands.xrevrange(this.keys.dead, '+', '-', 'COUNT', count)) as StreamEntry[];
    const parse = (raw: string | undefined): PlatformEvent => {
      try {
        return JSON.parse(raw ?? '') as PlatformEvent;
      } catch {
        return { raw } as unknown as PlatformEvent; // kept visible: it is why the entry died
      }
    };
    return entries.map(([, fields]) => ({
      event: parse(fieldOf(fields, 'event')),
      group: fieldOf(fields, 'group') ?? '',
      error: fieldOf(fields, 'error') ?? '',
      attempts: Number(fieldOf(fields, 'attempts') ?? 0),
      failedAt: fieldOf(fields, 'failedAt') ?? '',
    }));
  }

  /**
   * Drops stream and dead-letter entries older than the retention. Exact rather than `~`:
   * approximate trimming only frees whole radix-tree nodes, so old entries could outlive it.
   * Every instance trims (the same cut, so it does not matter which); the cut is taken from
   * Redis's clock, which stamped the entry ids, not from this instance's: one instance whose
   * clock ran days ahead would otherwise trim, for all of them, events groups have not read yet.
   */
  async trim(): Promise<void> {
    try {
      const [seconds, micros] = await this.#commands.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const minId = `${Math.max(0, now - this.#retentionMs)}-0`;
      await Promise.all([
        this.#commands.call('XTRIM', [this.keys.stream, 'MINID', minId]),
        this.#commands.call('XTRIM', [this.keys.dead, 'MINID', minId]),
      ]);
    } catch (error) {
      this.#logger.debug({ err: error }, 'could not trim the event stream');
    }
  }

  /** Stops every consumer (in-flight handlers finish, bounded), then closes all connections. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#trimTimer);
      await Promise.all([...this.#consumers].map((consumer) => consumer.stop(this.#closeTimeoutMs)));
      this.#consumers.clear();
      this.#listeners.clear();
      await this.#listening.idle(this.#closeTimeoutMs);
      await Promise.all([this.#pubsub ? closeRedis(this.#pubsub) : undefined, closeRedis(this.#commands)]);
    })();
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('The event bus is closed');
  }

  #ensurePubsub(): Promise<void> {
    if (!this.#pubsubReady) {
      const pubsub = this.#connect(`${this.#consumerName}:listen`, true);
      this.#pubsub = pubsub;
      pubsub.on('message', (channel: string, message: string) => {
        if (channel === this.keys.broadcast) this.#dispatch(message);
      });
      this.#pubsubReady = pubsub.subscribe(this.keys.broadcast).then(
        () => undefined,
        (error: unknown) => {
          this.#pubsubReady = undefined;
          this.#pubsub = undefined;
          void disconnectRedis(pubsub);
          throw error;
        },
      );
    }
    return this.#pubsubReady;
  }

  #dispatch(message: string): void {
    let events: PlatformEvent[];
    try {
      events = JSON.parse(message) as PlatformEvent[];
    } catch (error) {
      this.#logger.warn({ err: error }, 'malformed broadcast message ignored');
      return;
    }
    for (const event of events) {
      for (const listener of this.#listeners) {
        if (!listener.matches(event.topic)) continue;
        void this.#listening
          .run(() => listener.handler(structuredClone(event)))
          .catch((error: unknown) =>
            this.#logger.warn({ eventId: event.id, topic: event.topic, err: error }, 'event listener failed'),
          );
      }
    }
  }

  /** A new `run_id` after a reconnect means Redis restarted, and without persistence it lost the stream. */
  async #checkRunId(): Promise<void> {
    try {
      const info = await this.#commands.info('server');
      const runId = /run_id:(\w+)/.exec(info)?.[1];
      if (!runId) return;
      const previous = this.#runId;
      this.#runId = runId;
      if (previous && previous !== runId) this.#reset('redis restarted');
    } catch (error) {
      this.#logger.debug({ err: error }, 'could not read the redis run_id');
    }
  }

  #reset(reason: string): void {
    // One data loss shows up several ways at once (new run_id, NOGROUP in each consumer).
    if (Date.now() - this.#lastResetAt < 1000) return;
    this.#lastResetAt = Date.now();
    this.#logger.warn({ reason }, 'event bus lost data; asking publishers to replay recent events');
    for (const listener of this.#resetListeners) {
      try {
        listener();
      } catch (error) {
        this.#logger.error({ err: error }, 'event bus reset listener failed');
      }
    }
  }
}
