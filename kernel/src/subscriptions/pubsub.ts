import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/schema.js';
import { closeRedis, createRedis } from '../redis.js';
import { EventStream } from './event-stream.js';

/** What travels on a channel: the payload and when it was published (for delivery latency). */
interface Envelope {
  payload: unknown;
  publishedAt: number;
}

/** When a delivered payload was published (epoch ms), or undefined for a value that did not come from a pub/sub. */
const publishTimes = new WeakMap<object, number>();

export function publishedAtOf(payload: unknown): number | undefined {
  return typeof payload === 'object' && payload !== null ? publishTimes.get(payload) : undefined;
}

/** Live counts, for tests proving that nothing outlives its subscriber. */
export interface PubSubStats {
  /** Streams handed to subscribers and not yet closed. */
  streams: number;
  /** Channels this process is subscribed to on the engine (Redis SUBSCRIBE), one per topic in use. */
  channels: number;
}

interface Listener {
  readonly stream: EventStream<object>;
  readonly filter?: (payload: object) => boolean;
}

interface Channel {
  readonly listeners: Set<Listener>;
  /** The engine subscription id, once SUBSCRIBE is done. */
  readonly engineId: Promise<number>;
}

/**
 * Pub/sub for GraphQL subscriptions: Redis when configured, so an event published by any
 * instance of a module reaches subscribers on every instance; in-process otherwise (the embedded
 * platform). Each topic is one engine subscription per process, fanned out locally to any number
 * of subscribers, and dropped when its last subscriber leaves.
 *
 * Publish each event once for the whole fleet (from a consumer group handler, or the code that
 * made the change), never from a broadcast listener: every instance would publish it again.
 */
export class PlatformPubSub {
  readonly kind: 'memory' | 'redis';
  readonly #engine: PubSubEngine;
  readonly #prefix: string;
  readonly #channels = new Map<string, Channel>();
  readonly #dispose: () => Promise<void>;
  readonly #logger: Logger;
  #streams = 0;
  #closing = false;

  constructor(options: {
    engine: PubSubEngine;
    kind: 'memory' | 'redis';
    /** Prepended to every topic: the Redis key prefix, so deployments sharing a Redis never meet. */
    prefix?: string;
    logger: Logger;
    dispose?: () => Promise<void>;
  }) {
    this.#engine = options.engine;
    this.kind = options.kind;
    this.#prefix = options.prefix ?? '';
    this.#logger = options.logger;
    this.#dispose = options.dispose ?? (async () => {});
  }

  /** Publishes `payload` (plain JSON) to every subscriber of `topic` on every instance. */
  async publish(topic: string, payload: object): Promise<void> {
    const envelope: Envelope = { payload, publishedAt: Date.now() };
    await this.#engine.publish(this.#prefix + topic, envelope);
  }

  /**
   * A stream of `topic`'s payloads, from now on; `filter` drops those this subscriber should not
   * see. Closing the stream (`return()`) releases the subscription.
   */
  subscribe<T extends object>(topic: string, filter?: (payload: T) => boolean): EventStream<T> {
    const channel = this.#channel(topic);
    this.#streams++;
    const listener: Listener = {
      stream: new EventStream<object>(() => {
        this.#streams--;
        channel.listeners.delete(listener);
        if (channel.listeners.size === 0) this.#release(topic, channel);
      }),
      filter: filter as ((payload: object) => boolean) | undefined,
    };
    channel.listeners.add(listener);
    return listener.stream as unknown as EventStream<T>;
  }

  stats(): PubSubStats {
    return { streams: this.#streams, channels: this.#channels.size };
  }

  /** Ends every stream and closes the engine's connections. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const channel of [...this.#channels.values()]) {
      for (const { stream } of [...channel.listeners]) void stream.return();
    }
    await this.#dispose();
  }

  #channel(topic: string): Channel {
    let channel = this.#channels.get(topic);
    if (!channel) {
      const listeners = new Set<Listener>();
      const engineId = this.#engine.subscribe(
        this.#prefix + topic,
        (envelope: Envelope) => {
          const payload = envelope?.payload;
          if (typeof payload !== 'object' || payload === null) return;
          publishTimes.set(payload, envelope.publishedAt);
          for (const { stream, filter } of listeners) {
            try {
              if (!filter || filter(payload)) stream.push(payload);
            } catch (error) {
              this.#logger.error({ err: error, topic }, 'subscription filter failed; event skipped for one subscriber');
            }
          }
        },
        {},
      );
      engineId.catch((error: unknown) => this.#logger.error({ err: error, topic }, 'pub/sub subscribe failed'));
      channel = { listeners, engineId };
      this.#channels.set(topic, channel);
    }
    return channel;
  }

  #release(topic: string, channel: Channel): void {
    if (this.#channels.get(topic) !== channel) return;
    this.#channels.delete(topic);
    // While closing, the connections go anyway: an UNSUBSCRIBE on them would fail unheard.
    if (this.#closing) return;
    channel.engineId.then(
      (id) => this.#engine.unsubscribe(id),
      () => {},
    );
  }
}

/**
 * The pub/sub the configuration asks for: Redis (a publisher and a subscriber connection, named
 * `<name>-pubsub-*` in `CLIENT LIST`) when `redis.url` is set, in-process otherwise.
 */
export function createPubSub(config: Pick<PlatformConfig, 'redis'>, name: string, logger: Logger): PlatformPubSub {
  const log = logger.child({ component: 'pubsub' });
  if (!config.redis.url) return new PlatformPubSub({ engine: new PubSub(), kind: 'memory', logger: log });
  const publisher = createRedis(config.redis.url, { name: `${name}-pubsub-pub`, logger });
  // The subscriber connection only SUBSCRIBEs: no command timeout, and SUBSCRIBEs wait across reconnects.
  const subscriber = createRedis(config.redis.url, { name: `${name}-pubsub-sub`, logger, blocking: true });
  const engine = new RedisPubSub({ publisher, subscriber });
  return new PlatformPubSub({
    engine,
    kind: 'redis',
    prefix: `${config.redis.keyPrefix}:pubsub:`,
    logger: log,
    dispose: async () => {
      await Promise.all([closeRedis(publisher), closeRedis(subscriber)]);
    },
  });
}
