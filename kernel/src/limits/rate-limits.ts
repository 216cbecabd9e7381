import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateBudget } from '../config/schema.js';
import { RateLimitError } from '../errors.js';
import { msg } from '../i18n/index.js';

/** Where one caller stands in one budget after an operation was counted. */
export interface RateStanding {
  /** Operations the budget allows per window. */
  limit: number;
  /** Operations left in the current window (0 when refused). */
  remaining: number;
  /** Seconds until the window resets. */
  resetSec: number;
  /** Refused: the caller used up the budget; retry after `resetSec`. */
  refused: boolean;
}

/**
 * One budget (`points` operations per `durationSec`), counted per key: shared by every instance
 * through Redis when given one, else in process. While Redis is unreachable or slow, each
 * instance counts in its own memory instead (rate-limiter-flexible's insurance limiter): callers
 * are still limited, per instance, and no request waits on Redis.
 */
export class RateBudgetCounter {
  readonly #limiter: RateLimiterAbstract;

  constructor(
    readonly name: string,
    readonly budget: RateBudget,
    options: { redis?: Redis; keyPrefix: string },
  ) {
    const settings = { keyPrefix: `${options.keyPrefix}:${name}`, points: budget.points, duration: budget.durationSec };
    this.#limiter = options.redis
      ? new RateLimiterRedis({
          ...settings,
          storeClient: options.redis,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory(settings),
        })
      : new RateLimiterMemory(settings);
  }

  /** Counts one operation of `key`; refused once the budget for the window is used up. */
  async consume(key: string): Promise<RateStanding> {
    try {
      return this.#standing(await this.#limiter.consume(key), false);
    } catch (error) {
      if (error instanceof RateLimiterRes) return this.#standing(error, true);
      throw error;
    }
  }

  #standing(res: RateLimiterRes, refused: boolean): RateStanding {
    return {
      limit: this.budget.points,
      remaining: refused ? 0 : Math.max(0, res.remainingPoints),
      resetSec: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
      refused,
    };
  }
}

/** RATE_LIMITED for a refused standing, carrying `retryAfter` (seconds) and HTTP 429 + `Retry-After`. */
export function rateLimitError(standing: RateStanding, what: string): RateLimitError {
  const error = new RateLimitError(
    standing.resetSec,
    msg('errors:tooManyRequests', { what, seconds: standing.resetSec }),
  );
  error.extensions.http = { status: 429, headers: new Map([['retry-after', String(standing.resetSec)]]) };
  return error;
}

/**
 * The IETF `RateLimit-*` response headers (draft-ietf-httpapi-ratelimit-headers) and the
 * `X-RateLimit-*` ones many clients still read, for one standing; plus `Retry-After` when refused.
 */
export function rateLimitHeaders(standing: RateStanding): Record<string, string> {
  const headers: Record<string, string> = {
    'RateLimit-Limit': String(standing.limit),
    'RateLimit-Remaining': String(standing.remaining),
    'RateLimit-Reset': String(standing.resetSec),
    'X-RateLimit-Limit': String(standing.limit),
    'X-RateLimit-Remaining': String(standing.remaining),
    'X-RateLimit-Reset': String(standing.resetSec),
  };
  if (standing.refused) headers['Retry-After'] = String(standing.resetSec);
  return headers;
}
