import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { backoffDelay } from './retry/backoff.js';

export interface CreateRedisOptions {
  /** Connection name shown by `CLIENT LIST`, and the `redis` field of log lines. */
  name: string;
  logger: Logger;
  /**
   * For a connection that runs blocking reads (`XREADGROUP BLOCK`): commands wait across
   * reconnects instead of failing after a few retries, and no command timeout applies.
   */
  blocking?: boolean;
  /** Fails a command that gets no reply in time (non-blocking connections only); default 10 s. */
  commandTimeoutMs?: number;
  /** Longest wait between reconnect attempts; default 5 s. */
  maxReconnectDelayMs?: number;
  /** Hears every connection error (counted as `dependency_errors_total{dependency="redis"}`). */
  onError?: (error: Error) => void;
}

/** `/ready`'s view of a Redis connection: ready and answering a PING, or why not (at once when not connected). */
export async function redisCheck(redis: Redis): Promise<{ ok: boolean; detail?: string; status: string }> {
  if (redis.status !== 'ready') return { ok: false, status: redis.status, detail: `connection ${redis.status}` };
  await redis.ping();
  return { ok: true, status: redis.status };
}

/** Where a Redis URL points, without credentials, for log lines. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(unparseable url)';
  }
}

/** Exponential reconnect delay with jitter, so a fleet does not reconnect in lockstep. */
export function reconnectDelay(attempt: number, maxDelayMs = 5000): number {
  return backoffDelay(attempt, { baseMs: 100, maxMs: maxDelayMs, jitter: 'equal' });
}

/**
 * A Redis connection with production settings: named, reconnecting forever with capped
 * exponential backoff, and logging connect, reconnect and errors (never the URL's password).
 * An outage is logged once at error level rather than once per reconnect attempt.
 */
export function createRedis(url: string, options: CreateRedisOptions): Redis {
  const { name, blocking = false, maxReconnectDelayMs = 5000 } = options;
  const logger = options.logger.child({ component: 'redis', redis: name });
  const target = describeRedisUrl(url);
  const settings: RedisOptions = {
    connectionName: name,
    retryStrategy: (attempt) => reconnectDelay(attempt, maxReconnectDelayMs),
    // Blocking reads must survive reconnects; other commands should fail so callers can retry.
    maxRetriesPerRequest: blocking ? null : 3,
    ...(blocking ? {} : { commandTimeout: options.commandTimeoutMs ?? 10_000 }),
    enableReadyCheck: true,
  };
  const redis = new Redis(url, settings);

  let down = false;
  redis.on('ready', () => {
    logger.info({ target }, down ? 'redis reconnected' : 'redis connected');
    down = false;
  });
  redis.on('reconnecting', (delayMs: number) => {
    logger.debug({ target, delayMs }, 'redis reconnecting');
  });
  redis.on('error', (error: Error) => {
    options.onError?.(error);
    if (down) {
      logger.debug({ target, err: error }, 'redis still unavailable');
      return;
    }
    down = true;
    logger.error({ target, err: error }, 'redis connection error');
  });
  redis.on('end', () => logger.debug({ target }, 'redis connection closed'));
  return redis;
}

/** Resolves when the connection has ended, or after `timeoutMs`. */
async function ended(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    new Promise<void>((resolve) => redis.once('end', () => resolve())),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  clearTimeout(timer);
}

/**
 * Drops a connection at once, abandoning commands in flight (a blocking read, typically), and
 * resolves once its socket is closed. Safe to call twice: a second ioredis `disconnect()` on an
 * ended connection would arm a timer that keeps the process alive.
 */
export async function disconnectRedis(redis: Redis, timeoutMs = 2000): Promise<void> {
  if (redis.status === 'end') return;
  // Between reconnect attempts (Redis away) there is no socket: disconnect() cancels the next
  // attempt and nothing is left open, but no 'end' follows (ioredis 5), so waiting would only time out.
  const betweenAttempts = redis.status === 'reconnecting';
  redis.disconnect();
  if (!betweenAttempts) await ended(redis, timeoutMs);
}

/**
 * Closes a connection gracefully: `QUIT` lets pending replies arrive; if Redis is unreachable
 * (or does not answer in time) the socket is dropped instead, so shutdown never hangs. Resolves
 * once the socket is closed, so nothing is left to keep the process alive.
 */
export async function closeRedis(redis: Redis, timeoutMs = 2000): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') return disconnectRedis(redis, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const quit = redis.quit().then(
    () => true,
    () => false,
  );
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  const quitted = await Promise.race([quit, timeout]);
  clearTimeout(timer);
  if (!quitted) return disconnectRedis(redis, timeoutMs);
  await ended(redis, timeoutMs);
}
