import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitError } from '../errors.js';
import { accountKey, ipKey } from './throttle-keys.js';

/** `attempts` failed logins allowed per `windowSec` before a lockout. */
export interface ThrottleLimit {
  attempts: number;
  windowSec: number;
}

export interface LoginThrottleOptions {
  /** Shared store, so every replica sees the same counters; in-process memory when absent. */
  redis?: Redis;
  /** Prefix of every store key; default `login-throttle`. */
  keyPrefix?: string;
  /** Per account (normalised email); default 5 per 15 min. */
  perAccount?: ThrottleLimit;
  /** Per client address, across accounts (password spraying); default 50 per 15 min. */
  perIp?: ThrottleLimit;
  /** Cap of the doubling lockout, in seconds; default 24 h. */
  maxBlockSec?: number;
  /** How long a lockout counts towards doubling the next one, in seconds; default 24 h. */
  escalationWindowSec?: number;
}

const DAY_SEC = 24 * 3600;
const DEFAULT_ACCOUNT_LIMIT: ThrottleLimit = { attempts: 5, windowSec: 15 * 60 };
const DEFAULT_IP_LIMIT: ThrottleLimit = { attempts: 50, windowSec: 15 * 60 };
/** The lockout history only counts; it never refuses by itself. */
const UNLIMITED = 1_000_000;

/**
 * Brute-force defence for logins. `check` runs before the password is verified, and refuses
 * (RateLimitError with retry-after) an account or an address that used up its failures: even
 * the right password waits until the lockout ends. The first lockout lasts one window; each
 * further lockout within `escalationWindowSec` doubles, up to `maxBlockSec`.
 *
 * Callers record a failure for unknown accounts too, so the throttle does not reveal which
 * accounts exist.
 */
export class LoginThrottle {
  readonly #account: Lockout;
  readonly #ip: Lockout;

  constructor(options: LoginThrottleOptions = {}) {
    const prefix = options.keyPrefix ?? 'login-throttle';
    const maxBlockSec = positiveInt('maxBlockSec', options.maxBlockSec ?? DAY_SEC);
    const escalationSec = positiveInt('escalationWindowSec', options.escalationWindowSec ?? DAY_SEC);
    const store = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract =>
      limiter(options.redis, keyPrefix, points, duration);
    const lockout = (name: string, given: ThrottleLimit): Lockout => {
      const limit = {
        attempts: positiveInt(`${name}.attempts`, given.attempts),
        windowSec: positiveInt(`${name}.windowSec`, given.windowSec),
      };
      return new Lockout({
        limit,
        failures: store(`${prefix}:${name}:failures`, limit.attempts, limit.windowSec),
        history: store(`${prefix}:${name}:lockouts`, UNLIMITED, escalationSec),
        maxBlockSec,
        escalationSec,
      });
    };
    this.#account = lockout('account', options.perAccount ?? DEFAULT_ACCOUNT_LIMIT);
    this.#ip = lockout('ip', options.perIp ?? DEFAULT_IP_LIMIT);
  }

  /** Throws RateLimitError (retry-after in seconds) while the account or the address is locked out. */
  async check(account: string, ip?: string): Promise<void> {
    const [accountMs, ipMs] = await Promise.all([
      this.#account.remainingMs(accountKey(account)),
      ip ? this.#ip.remainingMs(ipKey(ip)) : 0,
    ]);
    const ms = Math.max(accountMs, ipMs);
    if (ms > 0) throw new RateLimitError(ms / 1000);
  }

  /** Counts one wrong password (or unknown account) against the account and the address. */
  async recordFailure(account: string, ip?: string): Promise<void> {
    await Promise.all([this.#account.fail(accountKey(account)), ip ? this.#ip.fail(ipKey(ip)) : undefined]);
  }

  /**
   * Clears the account's failures after a correct password. The address counter stays:
   * otherwise logging into one's own account between guesses would reset the per-IP limit.
   * The lockout history stays too, so an attacker cannot shorten the next lockout.
   */
  async recordSuccess(account: string, _ip?: string): Promise<void> {
    await this.#account.reset(accountKey(account));
  }
}

interface LockoutOptions {
  limit: ThrottleLimit;
  /** Failures in the current window; blocked (points + 1) while locked out. */
  failures: RateLimiterAbstract;
  /** Lockouts within the escalation window. */
  history: RateLimiterAbstract;
  maxBlockSec: number;
  escalationSec: number;
}

/** One dimension of the throttle (account or address). */
class Lockout {
  readonly #options: LockoutOptions;

  constructor(options: LockoutOptions) {
    this.#options = options;
  }

  async remainingMs(key: string): Promise<number> {
    const res = await this.#options.failures.get(key);
    if (!res || res.consumedPoints < this.#options.limit.attempts) return 0;
    return Math.max(0, res.msBeforeNext);
  }

  async fail(key: string): Promise<void> {
    let res: RateLimiterRes;
    try {
      res = await this.#options.failures.consume(key);
    } catch (error) {
      if (error instanceof RateLimiterRes) return; // already locked out
      throw error;
    }
    // Increments are atomic, so exactly one failure sees the count reach the limit.
    if (res.consumedPoints !== this.#options.limit.attempts) return;
    const previous = await this.#options.history.get(key);
    const strikes = (previous && previous.msBeforeNext > 0 ? previous.consumedPoints : 0) + 1;
    await this.#options.history.set(key, strikes, this.#options.escalationSec);
    const blockSec = Math.min(this.#options.limit.windowSec * 2 ** (strikes - 1), this.#options.maxBlockSec);
    await this.#options.failures.block(key, blockSec);
  }

  async reset(key: string): Promise<void> {
    await this.#options.failures.delete(key);
  }
}

function limiter(redis: Redis | undefined, keyPrefix: string, points: number, duration: number): RateLimiterAbstract {
  const options = { keyPrefix, points, duration };
  if (!redis) return new RateLimiterMemory(options);
  // While Redis is unreachable, fail fast to a per-process memory limiter: logins keep
  // working and keep a (local) brute-force limit, instead of hanging or failing open.
  return new RateLimiterRedis({
    ...options,
    storeClient: redis,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory(options),
  });
}

function positiveInt(name: string, value: number): number {
  // Whole seconds: the Redis store truncates durations to seconds, and 0 would mean "forever".
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`LoginThrottle ${name} must be a positive integer`);
  return value;
}
