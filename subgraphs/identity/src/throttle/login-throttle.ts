import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimitError } from '@platform/kernel';
import { accountKey, ipKey } from '@platform/kernel/contracts';

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
  /**
   * Refused attempts are reported (`ThrottleVerdict.refused.report`) at most once per account and
   * address per this many seconds, with a count; default 60.
   */
  refusalReportWindowSec?: number;
}

/** Which limit locked: the account (its normalised email) or the client address (its bucket). */
export type ThrottleScope = 'account' | 'address';

/** A lockout that a failure just started. */
export interface LockoutStart {
  scope: ThrottleScope;
  /** How long it lasts. */
  durationSec: number;
  /** 1 for the first lockout within the escalation window, 2 for the next (twice as long), … */
  strike: number;
  /** When it lapses. */
  until: Date;
}

/** A lockout that lapsed, found by the first attempt after it. */
export interface LockoutEnd {
  scope: ThrottleScope;
  /** When it lapsed: before the attempt that found it, possibly long before. */
  endedAt: Date;
}

/** What {@link LoginThrottle.attempt} decided about one login attempt. */
export interface ThrottleVerdict {
  /**
   * Lockouts of this account or address that lapsed since its previous attempt. Each is handed
   * to exactly one attempt, across replicas sharing the store.
   */
  ended: LockoutEnd[];
  /** Present when the attempt is refused (before its password is looked at). */
  refused?: {
    /** Until the last of the refusing lockouts lapses (the RateLimitError's retry-after). */
    retryAfterSec: number;
    /** The lockouts refusing it. */
    scopes: ThrottleScope[];
    /**
     * Present for at most one refusal per account and address per `refusalReportWindowSec`:
     * report that one, with `attempts` refused since the previous report of the same pair (this
     * one included), so a flood of refused attempts costs a few reports, not a write each.
     */
    report?: { attempts: number };
  };
}

const DAY_SEC = 24 * 3600;
const DEFAULT_ACCOUNT_LIMIT: ThrottleLimit = { attempts: 5, windowSec: 15 * 60 };
const DEFAULT_IP_LIMIT: ThrottleLimit = { attempts: 50, windowSec: 15 * 60 };
/** The lockout history only counts; it never refuses by itself. */
const UNLIMITED = 1_000_000;
/** Counters of refused attempts: never refuse either, however long a flood goes on. */
const COUNTER = 2 ** 31 - 1;

/**
 * Brute-force defence for logins. `check` runs before the password is verified, and refuses
 * (RateLimitError with retry-after) an account or an address that used up its failures: even
 * the right password waits until the lockout ends. The first lockout lasts one window; each
 * further lockout within `escalationWindowSec` doubles, up to `maxBlockSec`.
 *
 * Callers record a failure for unknown accounts too, so the throttle does not reveal which
 * accounts exist.
 *
 * For the audit trail, `recordFailure` returns the lockouts a failure started, and `attempt`
 * (`check` with reporting) which lockouts lapsed since the previous attempt and whether a refusal
 * is the one of its window to report. Lapses are found lazily: there is no timer, and the first
 * attempt after a lockout (within its duration plus `escalationWindowSec`) claims its end.
 */
export class LoginThrottle {
  readonly #account: Lockout;
  readonly #ip: Lockout;
  /** First refusal of an account+address pair in a report window. */
  readonly #reportGate: RateLimiterAbstract;
  /** Refusals of a pair not reported yet. */
  readonly #unreported: RateLimiterAbstract;
  /** At most one refusal per account and address is reported per this many seconds. */
  readonly refusalReportWindowSec: number;

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
        open: store(`${prefix}:${name}:open`, UNLIMITED, escalationSec),
        maxBlockSec,
        escalationSec,
      });
    };
    this.#account = lockout('account', options.perAccount ?? DEFAULT_ACCOUNT_LIMIT);
    this.#ip = lockout('ip', options.perIp ?? DEFAULT_IP_LIMIT);
    this.refusalReportWindowSec = positiveInt('refusalReportWindowSec', options.refusalReportWindowSec ?? 60);
    this.#reportGate = store(`${prefix}:refused:gate`, COUNTER, this.refusalReportWindowSec);
    this.#unreported = store(`${prefix}:refused:unreported`, COUNTER, escalationSec);
  }

  /**
   * `check` for callers that report: which lockouts lapsed since the previous attempt (claimed:
   * report them), and whether the attempt is refused, and if so whether this refusal is the one
   * to report. Refuses nothing itself: throw `RateLimitError(verdict.refused.retryAfterSec)`.
   */
  async attempt(account: string, ip?: string): Promise<ThrottleVerdict> {
    const accountId = accountKey(account);
    const ipId = ip ? ipKey(ip) : undefined;
    const dimensions: Array<{ scope: ThrottleScope; lockout: Lockout; key: string }> = [
      { scope: 'account', lockout: this.#account, key: accountId },
    ];
    if (ipId) dimensions.push({ scope: 'address', lockout: this.#ip, key: ipId });
    const states = await Promise.all(dimensions.map(({ lockout, key }) => lockout.state(key)));

    const ended: LockoutEnd[] = [];
    const scopes: ThrottleScope[] = [];
    let remainingMs = 0;
    for (const [index, { scope, lockout, key }] of dimensions.entries()) {
      const state = states[index]!;
      if (state.remainingMs > 0) {
        scopes.push(scope);
        remainingMs = Math.max(remainingMs, state.remainingMs);
      } else if (state.lapsedAt && (await lockout.claimEnd(key))) {
        ended.push({ scope, endedAt: state.lapsedAt });
      }
    }
    if (scopes.length === 0) return { ended };
    const report = await this.#countRefusal(`${accountId}:${ipId ?? '-'}`);
    return { ended, refused: { retryAfterSec: Math.max(1, Math.ceil(remainingMs / 1000)), scopes, ...report } };
  }

  /** Counts a refusal of `pair`; the first of its window takes the count of those before it. */
  async #countRefusal(pair: string): Promise<{ report?: { attempts: number } }> {
    const first = await consumed(this.#reportGate, pair);
    if (first !== 1) {
      await consumed(this.#unreported, pair);
      return {};
    }
    const earlier = (await this.#unreported.get(pair))?.consumedPoints ?? 0;
    // Taken away rather than deleted: refusals counted meanwhile by other requests stay counted.
    if (earlier > 0) await this.#unreported.reward(pair, earlier);
    return { report: { attempts: earlier + 1 } };
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

  /**
   * Counts one wrong password (or unknown account) against the account and the address, and
   * returns the lockouts it started (none, mostly).
   */
  async recordFailure(account: string, ip?: string): Promise<LockoutStart[]> {
    const [byAccount, byIp] = await Promise.all([
      this.#account.fail(accountKey(account)),
      ip ? this.#ip.fail(ipKey(ip)) : undefined,
    ]);
    const started: LockoutStart[] = [];
    if (byAccount) started.push({ scope: 'account', ...byAccount });
    if (byIp) started.push({ scope: 'address', ...byIp });
    return started;
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
  /**
   * The current lockout, until an attempt after it claims its end: its value is when it lapses
   * (epoch seconds); it is kept for the lockout plus `escalationSec`, then forgotten.
   */
  open: RateLimiterAbstract;
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

  /** How long the key stays locked, and when its previous lockout lapsed if nobody claimed that yet. */
  async state(key: string): Promise<{ remainingMs: number; lapsedAt?: Date }> {
    const [remainingMs, open] = await Promise.all([this.remainingMs(key), this.#options.open.get(key)]);
    if (remainingMs > 0 || !open) return { remainingMs };
    return { remainingMs, lapsedAt: new Date(open.consumedPoints * 1000) };
  }

  /** True for exactly one caller per lockout (a delete in the shared store). */
  claimEnd(key: string): Promise<boolean> {
    return this.#options.open.delete(key);
  }

  async fail(key: string): Promise<Omit<LockoutStart, 'scope'> | undefined> {
    let res: RateLimiterRes;
    try {
      res = await this.#options.failures.consume(key);
    } catch (error) {
      if (error instanceof RateLimiterRes) return undefined; // already locked out
      throw error;
    }
    // Increments are atomic, so exactly one failure sees the count reach the limit.
    if (res.consumedPoints !== this.#options.limit.attempts) return undefined;
    const previous = await this.#options.history.get(key);
    const strike = (previous && previous.msBeforeNext > 0 ? previous.consumedPoints : 0) + 1;
    await this.#options.history.set(key, strike, this.#options.escalationSec);
    const durationSec = Math.min(this.#options.limit.windowSec * 2 ** (strike - 1), this.#options.maxBlockSec);
    const until = new Date(Date.now() + durationSec * 1000);
    await this.#options.failures.block(key, durationSec);
    await this.#options.open.set(key, Math.ceil(until.getTime() / 1000), durationSec + this.#options.escalationSec);
    return { durationSec, strike, until };
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

/** Adds one to `key`'s counter and returns it; a counter past its (huge) limit still counts as not first. */
async function consumed(counter: RateLimiterAbstract, key: string): Promise<number> {
  try {
    return (await counter.consume(key)).consumedPoints;
  } catch (error) {
    if (error instanceof RateLimiterRes) return error.consumedPoints;
    throw error;
  }
}

function positiveInt(name: string, value: number): number {
  // Whole seconds: the Redis store truncates durations to seconds, and 0 would mean "forever".
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`LoginThrottle ${name} must be a positive integer`);
  return value;
}
