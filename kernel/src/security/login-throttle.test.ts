import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { RateLimitError } from '../errors.js';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
import { accountKey } from './throttle-keys.js';

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
