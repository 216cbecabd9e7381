import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { RevocationList } from './revocation-list.js';

/** A fake clock, so expiry is tested without waiting. */
class Clock {
  ms = Date.UTC(2026, 0, 1, 12, 0, 0);
  readonly now = (): number => this.ms;
  get sec(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

describe('RevocationList', () => {
  let clock: Clock;
  let list: RevocationList;
  beforeEach(() => {
    clock = new Clock();
    list = new RevocationList({ now: clock.now, pruneIntervalMs: 1_000 });
  });

  it('revokes one session, not the other sessions of the user', () => {
    const sub = randomUUID();
    const sid = randomUUID();
    list.revokeSession(sid, clock.ms + 900_000);
    expect(list.isRevoked({ sub, sid, iat: clock.sec - 10 })).toBe(true);
    expect(list.isRevoked({ sub, sid: randomUUID(), iat: clock.sec - 10 })).toBe(false);
  });

  it('matches ids whatever their case', () => {
    const sid = randomUUID();
    list.revokeSession(sid.toUpperCase(), clock.ms + 60_000);
    expect(list.isRevoked({ sub: randomUUID(), sid, iat: clock.sec })).toBe(true);
  });

  it('revokes the tokens a user got before the revocation, not those issued after', () => {
    const sub = randomUUID();
    list.revokeUser(sub, clock.ms + 900_000);
    expect(list.isRevoked({ sub, sid: randomUUID(), iat: clock.sec - 600 })).toBe(true);
    // iat has whole seconds: a token from the revocation's own second counts as older.
    expect(list.isRevoked({ sub, sid: randomUUID(), iat: clock.sec })).toBe(true);
    expect(list.isRevoked({ sub, sid: randomUUID(), iat: clock.sec + 1 })).toBe(false);
    expect(list.isRevoked({ sub: randomUUID(), sid: randomUUID(), iat: clock.sec - 600 })).toBe(false);
  });

  it("takes a relayed user revocation's own time, not the time it arrived", () => {
    const sub = randomUUID();
    const revokedAt = clock.ms;
    clock.advance(3_000); // bus delay
    list.revokeUser(sub, revokedAt + 900_000, revokedAt);
    expect(list.isRevoked({ sub, iat: Math.floor(revokedAt / 1000) + 1 })).toBe(false);
    expect(list.isRevoked({ sub, iat: Math.floor(revokedAt / 1000) })).toBe(true);
  });

  it('keeps the later cut-off and the later expiry when a user is revoked twice', () => {
    const sub = randomUUID();
    list.revokeUser(sub, clock.ms + 900_000);
    const first = clock.sec;
    clock.advance(60_000);
    list.revokeUser(sub, clock.ms + 60_000, clock.ms - 120_000);
    expect(list.isRevoked({ sub, iat: first + 30 })).toBe(false);
    expect(list.isRevoked({ sub, iat: first })).toBe(true);
    clock.advance(120_000);
    expect(list.isRevoked({ sub, iat: first })).toBe(true);
  });

  it('forgets entries once they expire', () => {
    const sub = randomUUID();
    const sid = randomUUID();
    list.revokeSession(sid, clock.ms + 900_000);
    list.revokeUser(sub, clock.ms + 900_000);
    clock.advance(900_000);
    expect(list.isRevoked({ sub, sid, iat: clock.sec - 900 })).toBe(false);
    expect(list.size).toBe(0);
  });

  it('ignores revocations that have already expired', () => {
    list.revokeSession(randomUUID(), clock.ms - 1);
    list.revokeUser(randomUUID(), clock.ms);
    expect(list.size).toBe(0);
  });

  it('keeps a revocation for the default hold when no expiry is given', () => {
    const sid = randomUUID();
    list.revokeSession(sid);
    clock.advance(15 * 60_000);
    expect(list.isRevoked({ sub: randomUUID(), sid, iat: clock.sec - 900 })).toBe(true);
    clock.advance(60_000);
    expect(list.isRevoked({ sub: randomUUID(), sid, iat: clock.sec - 900 })).toBe(false);
  });

  it('prunes expired entries on writes, so memory stays bounded', () => {
    for (let i = 0; i < 1_000; i++) list.revokeSession(randomUUID(), clock.ms + 5_000);
    for (let i = 0; i < 1_000; i++) list.revokeUser(randomUUID(), clock.ms + 5_000);
    expect(list.size).toBe(2_000);
    clock.advance(5_000);
    list.revokeSession(randomUUID(), clock.ms + 5_000);
    expect(list.size).toBe(1);
  });

  it('prune() drops what has expired and reports how many', () => {
    list.revokeSession(randomUUID(), clock.ms + 1_000);
    list.revokeSession(randomUUID(), clock.ms + 10_000);
    clock.advance(1_000);
    expect(list.prune()).toBe(1);
    expect(list.size).toBe(1);
  });

  it('primes a starting service from a snapshot of live entries', () => {
    const sid = randomUUID();
    const sub = randomUUID();
    list.revokeSession(sid, clock.ms + 60_000);
    list.revokeSession(randomUUID(), clock.ms + 1_000);
    list.revokeUser(sub, clock.ms + 60_000);
    clock.advance(1_000);

    const snapshot = JSON.parse(JSON.stringify(list.snapshot())) as ReturnType<RevocationList['snapshot']>;
    expect(snapshot.sessions).toEqual([{ id: sid, untilMs: clock.ms + 59_000 }]);
    expect(snapshot.users).toEqual([{ id: sub, revokedAtMs: clock.ms - 1_000, untilMs: clock.ms + 59_000 }]);

    const starting = new RevocationList({ now: clock.now });
    starting.load(snapshot);
    expect(starting.isRevoked({ sub: randomUUID(), sid, iat: clock.sec })).toBe(true);
    expect(starting.isRevoked({ sub, iat: clock.sec - 1 })).toBe(true);
    expect(starting.isRevoked({ sub, iat: clock.sec + 1 })).toBe(false);
  });

  it('refuses a malformed snapshot', () => {
    expect(() => list.load({ sessions: [{ id: 'x' }], users: [] } as never)).toThrow();
    expect(list.size).toBe(0);
  });
});
