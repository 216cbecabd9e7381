import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RateLimitError } from '@platform/kernel';
import { accountKey } from '@platform/kernel/contracts';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';

/** The memory store always; Redis too when CI provides one. */
const stores: Array<[string]> = [['memory']];
if (process.env.REDIS_URL) stores.push(['redis']);

/** Resolves once `condition` holds; polls instead of assuming how long anything takes. */
async function eventually(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** The RateLimitError `check` throws, or undefined when it lets the attempt through. */
async function refusal(throttle: LoginThrottle, account: string, ip?: string): Promise<RateLimitError | undefined> {
  try {
    await throttle.check(account, ip);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(RateLimitError);
    return error as RateLimitError;
  }
}

const retryAfter = (error: RateLimitError | undefined): number => error?.extensions.retryAfter as number;
const newAccount = (): string => `user-${randomUUID()}@example.com`;

describe.each(stores)('LoginThrottle (%s store)', (store) => {
  const prefix = `test:login-throttle:${randomUUID()}`;
  let redis: Redis | undefined;

  beforeAll(async () => {
    if (store !== 'redis') return;
    redis = new Redis(process.env.REDIS_URL!);
    await redis.ping();
  });

  afterAll(async () => {
    if (!redis) return;
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  const throttle = (options: Omit<LoginThrottleOptions, 'redis' | 'keyPrefix'> = {}): LoginThrottle =>
    new LoginThrottle({ redis, keyPrefix: `${prefix}:${randomUUID()}`, ...options });

  /** One login attempt with a wrong password, as identity runs it. */
  async function wrongPassword(limiter: LoginThrottle, account: string, ip?: string): Promise<void> {
    await limiter.check(account, ip);
    await limiter.recordFailure(account, ip);
  }

  it('refuses the 6th attempt after 5 wrong passwords, even with the right password', async () => {
    const limiter = throttle();
    const account = newAccount();
    for (let i = 0; i < 5; i++) await wrongPassword(limiter, account, '203.0.113.1');
    const refused = await refusal(limiter, account, '203.0.113.1');
    expect(refused?.extensions.code).toBe('RATE_LIMITED');
    expect(retryAfter(refused)).toBeGreaterThan(0);
    expect(retryAfter(refused)).toBeLessThanOrEqual(15 * 60);
    // The right password does not help: check runs before it is verified.
    expect(await refusal(limiter, account, '198.51.100.9')).toBeInstanceOf(RateLimitError);
    // The same account in another spelling is the same account.
    expect(await refusal(limiter, `  ${account.toUpperCase()} `)).toBeInstanceOf(RateLimitError);
    expect(await refusal(limiter, newAccount(), '203.0.113.1')).toBeUndefined();
  });

  it('lets the account try again once the lockout has passed, with a fresh count', async () => {
    const limiter = throttle({ perAccount: { attempts: 3, windowSec: 1 } });
    const account = newAccount();
    for (let i = 0; i < 3; i++) await wrongPassword(limiter, account);
    expect(await refusal(limiter, account)).toBeInstanceOf(RateLimitError);
    await eventually(async () => (await refusal(limiter, account)) === undefined);
    await wrongPassword(limiter, account);
    expect(await refusal(limiter, account)).toBeUndefined();
  });

  it('resets the account counter on success', async () => {
    const limiter = throttle();
    const account = newAccount();
    for (let i = 0; i < 4; i++) await wrongPassword(limiter, account);
    await limiter.check(account);
    await limiter.recordSuccess(account);
    for (let i = 0; i < 4; i++) await wrongPassword(limiter, account);
    expect(await refusal(limiter, account)).toBeUndefined();
    await limiter.recordFailure(account);
    expect(await refusal(limiter, account)).toBeInstanceOf(RateLimitError);
  });

  it('limits one address across accounts, and a success does not reset it', async () => {
    const limiter = throttle({ perAccount: { attempts: 100, windowSec: 60 }, perIp: { attempts: 3, windowSec: 60 } });
    const ip = '2001:db8:42:1::10';
    await wrongPassword(limiter, newAccount(), ip);
    await wrongPassword(limiter, newAccount(), ip);
    const own = newAccount();
    await limiter.check(own, ip);
    await limiter.recordSuccess(own, ip);
    await wrongPassword(limiter, newAccount(), ip);
    const refused = await refusal(limiter, newAccount(), ip);
    expect(retryAfter(refused)).toBeGreaterThan(0);
    // The same /64 is the same subscriber; another network and an unknown address are not limited.
    expect(await refusal(limiter, newAccount(), '2001:db8:42:1::99')).toBeInstanceOf(RateLimitError);
    expect(await refusal(limiter, newAccount(), '2001:db8:42:2::10')).toBeUndefined();
    expect(await refusal(limiter, newAccount())).toBeUndefined();
  });

  it('doubles a second lockout within the escalation window, up to the cap', async () => {
    const limiter = throttle({ perAccount: { attempts: 2, windowSec: 1 }, maxBlockSec: 2 });
    const account = newAccount();
    const lockOut = async (): Promise<number> => {
      await eventually(async () => (await refusal(limiter, account)) === undefined);
      for (let i = 0; i < 2; i++) await wrongPassword(limiter, account);
      return retryAfter(await refusal(limiter, account));
    };
    const first = await lockOut();
    const second = await lockOut();
    const third = await lockOut();
    expect(first).toBe(1);
    expect(second).toBeGreaterThan(first);
    expect(second).toBe(2);
    expect(third).toBe(2);
  });

  it('returns the lockout a failure starts, and hands its end to the first attempt after it, once', async () => {
    const limiter = throttle({ perAccount: { attempts: 3, windowSec: 1 } });
    const account = newAccount();
    const ip = '203.0.113.7';
    expect(await limiter.recordFailure(account, ip)).toEqual([]);
    expect(await limiter.recordFailure(account, ip)).toEqual([]);
    const before = Date.now();
    const [started, ...others] = await limiter.recordFailure(account, ip);
    expect(others).toEqual([]);
    expect(started).toEqual({ scope: 'account', durationSec: 1, strike: 1, until: expect.any(Date) });
    expect(started!.until.getTime()).toBeGreaterThanOrEqual(before + 1000);
    // Already locked: no second start.
    expect(await limiter.recordFailure(account, ip)).toEqual([]);

    const refused = await limiter.attempt(account, ip);
    expect(refused).toEqual({
      ended: [],
      refused: { retryAfterSec: 1, scopes: ['account'], report: { attempts: 1 } },
    });
    await eventually(async () => (await limiter.attempt(account, ip)).refused === undefined);
    // The attempt that found the lapse claimed it: concurrent and later attempts see no end.
    const after = await Promise.all([1, 2, 3].map(() => limiter.attempt(account, ip)));
    expect(after.flatMap((verdict) => verdict.ended)).toEqual([]);
  });

  it('hands a lapsed lockout to exactly one of several concurrent attempts, with the time it lapsed', async () => {
    const limiter = throttle({ perAccount: { attempts: 2, windowSec: 1 } });
    const account = newAccount();
    await limiter.recordFailure(account);
    const [started] = await limiter.recordFailure(account);
    await sleep(started!.until.getTime() - Date.now() + 1100);
    const verdicts = await Promise.all([1, 2, 3, 4].map(() => limiter.attempt(account)));
    expect(verdicts.map((verdict) => verdict.refused)).toEqual([undefined, undefined, undefined, undefined]);
    const ended = verdicts.flatMap((verdict) => verdict.ended);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toEqual({ scope: 'account', endedAt: expect.any(Date) });
    // Whole seconds in the store: within a second of `until`.
    expect(Math.abs(ended[0]!.endedAt.getTime() - started!.until.getTime())).toBeLessThan(1000);
  });

  it('reports one refusal per account and address per window, carrying the count of the others', async () => {
    const limiter = throttle({ perAccount: { attempts: 2, windowSec: 60 }, refusalReportWindowSec: 1 });
    const account = newAccount();
    for (let i = 0; i < 2; i++) await wrongPassword(limiter, account, '203.0.113.8');
    const reports = async (ip: string, count: number) => {
      const verdicts = [];
      for (let i = 0; i < count; i++) verdicts.push(await limiter.attempt(account, ip));
      expect(verdicts.every((verdict) => verdict.refused?.scopes[0] === 'account')).toBe(true);
      return verdicts.map((verdict) => verdict.refused?.report);
    };
    expect(await reports('203.0.113.8', 4)).toEqual([{ attempts: 1 }, undefined, undefined, undefined]);
    // Another address is another pair.
    expect(await reports('198.51.100.4', 2)).toEqual([{ attempts: 1 }, undefined]);
    await sleep(1100);
    // The next window's report counts the 3 unreported ones and itself.
    expect(await reports('203.0.113.8', 2)).toEqual([{ attempts: 4 }, undefined]);
  });

  it('locks an address across accounts and says so', async () => {
    const limiter = throttle({ perIp: { attempts: 2, windowSec: 60 } });
    const ip = '2001:db8:7::1';
    expect(await limiter.recordFailure(newAccount(), ip)).toEqual([]);
    expect(await limiter.recordFailure(newAccount(), ip)).toEqual([
      { scope: 'address', durationSec: 60, strike: 1, until: expect.any(Date) },
    ]);
    const verdict = await limiter.attempt(newAccount(), '2001:db8:7::2');
    expect(verdict.refused).toMatchObject({ scopes: ['address'], report: { attempts: 1 } });
    await expect(limiter.check(newAccount(), ip)).rejects.toBeInstanceOf(RateLimitError);
  });

  it('refuses nonsensical limits', () => {
    expect(() => throttle({ perAccount: { attempts: 0, windowSec: 60 } })).toThrow(RangeError);
    expect(() => throttle({ perIp: { attempts: 5, windowSec: 0.5 } })).toThrow(RangeError);
    expect(() => throttle({ maxBlockSec: -1 })).toThrow(RangeError);
  });

  if (store === 'redis') {
    it('stores hashes of accounts in Redis, never the email', async () => {
      const keyPrefix = `${prefix}:${randomUUID()}`;
      const limiter = new LoginThrottle({ redis, keyPrefix, perAccount: { attempts: 2, windowSec: 60 } });
      const account = newAccount();
      for (let i = 0; i < 2; i++) await wrongPassword(limiter, account, '203.0.113.50');
      const keys = await redis!.keys(`${keyPrefix}:*`);
      expect(keys).toEqual(
        expect.arrayContaining([
          `${keyPrefix}:account:failures:${accountKey(account)}`,
          `${keyPrefix}:account:lockouts:${accountKey(account)}`,
        ]),
      );
      expect(keys.join(' ')).not.toMatch(/example\.com|user-|203\.0\.113/);
    });
  }
});

describe('LoginThrottle while Redis is unreachable', () => {
  it('falls back to a per-process limit instead of hanging or letting everything through', async () => {
    // Never connects: the throttle must not wait for it.
    const offline = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false });
    try {
      const limiter = new LoginThrottle({ redis: offline, keyPrefix: `test:offline:${randomUUID()}` });
      const account = newAccount();
      for (let i = 0; i < 5; i++) {
        await limiter.check(account);
        await limiter.recordFailure(account);
      }
      expect(await refusal(limiter, account)).toBeInstanceOf(RateLimitError);
    } finally {
      offline.disconnect();
    }
  });
});
