import { describe, expect, it } from '@jest/globals';
import argon2 from 'argon2';
import { createLogger } from '@platform/kernel/testing';
import { PasswordHasher, parseArgon2Hash } from './hasher.js';
import { Semaphore } from './semaphore.js';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({ log: { level: 'info', pretty: false } }, 'identity', {
    write: (line: string) => void lines.push(line),
  });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

const hasher = new PasswordHasher({ memoryCost: 19456, timeCost: 2, parallelism: 1 });

describe('PasswordHasher', () => {
  it('hashes with argon2id and the configured parameters, salted', async () => {
    const a = await hasher.hash('correct horse battery staple');
    const b = await hasher.hash('correct horse battery staple');
    expect(a).not.toBe(b);
    expect(parseArgon2Hash(a)).toEqual({
      type: 'argon2id',
      version: 0x13,
      memoryCost: 19456,
      timeCost: 2,
      parallelism: 1,
    });
  });

  it('verifies the right password and rejects a wrong one', async () => {
    const hash = await hasher.hash('correct horse battery staple');
    expect(await hasher.verify(hash, 'correct horse battery staple')).toBe(true);
    expect(await hasher.verify(hash, 'correct horse battery stapler')).toBe(false);
    expect(await hasher.verify(hash, '')).toBe(false);
  });

  it('matches a password typed in another Unicode normalization form', async () => {
    const composed = 'pâsswörd-é-long'.normalize('NFC');
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    expect(await hasher.verify(await hasher.hash(composed), decomposed)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['not PHC', 'plaintext-password'],
    ['bcrypt', '$2b$10$abcdefghijklmnopqrstuuJ2y0Rh8yFQmQ2mD1YpB8Dqg5bHq0x6W'],
    ['truncated digest', '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$AAAA'],
    ['memory too small', `$argon2id$v=19$m=1,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$${'A'.repeat(43)}`],
    ['missing a parameter', `$argon2id$v=19$m=19456,t=2$c29tZXNhbHRzb21lc2FsdA$${'A'.repeat(43)}`],
  ])('returns false for a malformed hash (%s) and logs why, without the hash', async (_name, hash) => {
    const { logger, records, lines } = capture();
    const withLog = new PasswordHasher({ logger });
    await expect(withLog.verify(hash, 'whatever-password')).resolves.toBe(false);
    expect(records()).toEqual([
      expect.objectContaining({
        level: 'warn',
        component: 'password-hasher',
        reason: expect.any(String),
        msg: 'stored password hash is malformed',
      }),
    ]);
    if (hash) expect(lines.join('')).not.toContain(hash);
    expect(lines.join('')).not.toContain('whatever-password');
  });

  it('needsRehash: false for current parameters, true for weaker, different or other types', async () => {
    const current = await hasher.hash('some password');
    expect(hasher.needsRehash(current)).toBe(false);

    const weaker = await argon2.hash('some password', {
      type: argon2.argon2id,
      memoryCost: 19456,
      timeCost: 1,
      parallelism: 1,
    });
    expect(hasher.needsRehash(weaker)).toBe(true);
    // The old hash still verifies, so the caller can rehash it after this login.
    expect(await hasher.verify(weaker, 'some password')).toBe(true);

    const argon2i = await argon2.hash('some password', {
      type: argon2.argon2i,
      memoryCost: 19456,
      timeCost: 2,
      parallelism: 1,
    });
    expect(hasher.needsRehash(argon2i)).toBe(true);

    const stronger = new PasswordHasher({ memoryCost: 32768, timeCost: 3, parallelism: 1 });
    expect(stronger.needsRehash(current)).toBe(true);
    expect(stronger.needsRehash(await stronger.hash('x'))).toBe(false);

    expect(hasher.needsRehash('garbage')).toBe(true);
  });

  it('dummyVerify runs a real verification and always fails', async () => {
    await expect(hasher.dummyVerify('anything at all')).resolves.toBe(false);
    await expect(hasher.dummyVerify('')).resolves.toBe(false);
  });

  it('bounds concurrent work: a burst queues and every result is right', async () => {
    const bounded = new PasswordHasher({ maxConcurrent: 2 });
    const passwords = Array.from({ length: 6 }, (_, i) => `burst password ${i}`);
    const pending = passwords.map((p) => bounded.hash(p));
    expect(bounded.load).toEqual({ running: 2, queued: 4 });
    const hashes = await Promise.all(pending);
    expect(bounded.load).toEqual({ running: 0, queued: 0 });
    const checks = await Promise.all(hashes.map((h, i) => bounded.verify(h, passwords[(i + 1) % 6]!)));
    expect(checks).toEqual([false, false, false, false, false, false]);
    expect(await Promise.all(hashes.map((h, i) => bounded.verify(h, passwords[i]!)))).toEqual(Array(6).fill(true));
  });
});

describe('Semaphore', () => {
  it('never runs more than its limit, serves waiters in order and frees slots on failure', async () => {
    const semaphore = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const gates: Array<() => void> = [];
    const tasks = Array.from({ length: 5 }, (_, i) =>
      semaphore.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(i);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
        if (i === 1) throw new Error('task failed');
        return i;
      }),
    );
    const settled = Promise.allSettled(tasks);
    while (order.length < 5 || gates.length) {
      await new Promise((resolve) => setImmediate(resolve));
      gates.shift()?.();
    }
    const results = await settled;
    expect(peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(semaphore.running).toBe(0);
  });

  it('rejects a limit below one', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
