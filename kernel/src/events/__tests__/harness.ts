import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { DeadLetter, EventBus, RetryOptions } from '../bus.js';
import { MemoryBroker, MemoryEventBus } from '../memory-bus.js';
import { RedisEventBus, type RedisEventBusOptions } from '../redis-bus.js';

export { waitFor } from '../../testing/index.js';

export const silent = pino({ level: 'silent' });

/** A promise with its resolver, for handlers a test wants to hold and release. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export interface TestBusOptions {
  retry?: RetryOptions;
  claimIdleMs?: number;
  closeTimeoutMs?: number;
}

/** Buses of one kind that share state (one broker, or one Redis prefix) like processes of one platform. */
export interface BusHarness {
  readonly kind: 'memory' | 'redis';
  create(options?: TestBusOptions): EventBus;
  deadLetters(): Promise<DeadLetter[]>;
  /** Nothing left unacknowledged in `group` (always true in memory once handled). */
  settled(group: string): Promise<boolean>;
  /** A plain connection for poking at Redis directly (Redis only). */
  redis?: Redis;
  readonly prefix?: string;
  /** Closes every bus it made and deletes its Redis keys. */
  cleanup(): Promise<void>;
}

const fastRetry: RetryOptions = { baseDelayMs: 10, maxDelayMs: 50 };

function memoryHarness(): BusHarness {
  const broker = new MemoryBroker();
  const buses: EventBus[] = [];
  return {
    kind: 'memory',
    create: (options = {}) => {
      const bus = new MemoryEventBus({ logger: silent, broker, retry: options.retry ?? fastRetry });
      buses.push(bus);
      return bus;
    },
    deadLetters: async () => [...broker.deadLetters],
    settled: async () => true,
    cleanup: async () => {
      await Promise.all(buses.map((bus) => bus.close()));
    },
  };
}

export function redisTestOptions(url: string, prefix: string, options: TestBusOptions = {}): RedisEventBusOptions {
  return {
    url,
    logger: silent,
    prefix,
    retry: options.retry ?? fastRetry,
    claimIdleMs: options.claimIdleMs ?? 30_000,
    blockMs: 1000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5000,
  };
}

function redisHarness(url: string): BusHarness {
  const prefix = `test:events:${randomBytes(6).toString('hex')}`;
  const redis = new Redis(url, { lazyConnect: false });
  const buses: RedisEventBus[] = [];
  return {
    kind: 'redis',
    prefix,
    redis,
    create: (options = {}) => {
      const bus = new RedisEventBus(redisTestOptions(url, prefix, options));
      buses.push(bus);
      return bus;
    },
    deadLetters: () => buses[0]!.deadLetters(),
    settled: async (group) => {
      const summary = (await redis.xpending(`${prefix}:stream`, group)) as [number, ...unknown[]];
      return summary[0] === 0;
    },
    cleanup: async () => {
      await Promise.all(buses.map((bus) => bus.close()));
      await redis.del(`${prefix}:stream`, `${prefix}:dead`);
      await redis.quit();
    },
  };
}

/** The bus kinds to test: always memory; Redis too when `REDIS_URL` is set. */
export function busKinds(): Array<{ kind: 'memory' | 'redis'; make: () => BusHarness }> {
  const kinds: Array<{ kind: 'memory' | 'redis'; make: () => BusHarness }> = [{ kind: 'memory', make: memoryHarness }];
  const url = process.env.REDIS_URL;
  if (url) kinds.push({ kind: 'redis', make: () => redisHarness(url) });
  return kinds;
}
