import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { waitFor } from '../testing/index.js';
import { RevocationList, type RevocationSnapshot } from './revocation-list.js';
import { RevocationSync, RevocationsStaleError, type RevocationsSince } from './revocation-sync.js';

const logger = pino({ level: 'silent' });
const EMPTY: RevocationSnapshot = { sessions: [], users: [] };

/** A clock the test moves, and a source answering what the test says, recording what it was asked. */
function setup(boundMs = 5000) {
  let now = 1_000_000;
  const asked: Array<number | undefined> = [];
  let answer: () => Promise<RevocationsSince> = async () => ({ snapshot: EMPTY, asOfMs: now });
  const revocations = new RevocationList({ now: () => now });
  const added: Array<ReturnType<RevocationList['load']>> = [];
  const sync = new RevocationSync({
    revocations,
    boundMs,
    logger,
    now: () => now,
    source: (since) => {
      asked.push(since);
      return answer();
    },
    onRevoked: (entries) => added.push(entries),
  });
  return {
    sync,
    revocations,
    asked,
    added,
    advance: (ms: number) => (now += ms),
    now: () => now,
    answer: (next: () => Promise<RevocationsSince>) => (answer = next),
  };
}

describe('RevocationSync', () => {
  it('is not fresh before its first read, and fresh after one succeeded', async () => {
    const t = setup();
    expect(t.sync.fresh).toBe(false);
    expect(() => t.sync.assertFresh()).toThrow(RevocationsStaleError);
    expect(await t.sync.read()).toBe(true);
    expect(t.sync.fresh).toBe(true);
    expect(() => t.sync.assertFresh()).not.toThrow();
  });

  it('merges what identity revoked and reports only what is new', async () => {
    const t = setup();
    const session = { id: 'S1', untilMs: t.now() + 60_000 };
    const user = { id: 'U1', revokedAtMs: t.now() - 1000, untilMs: t.now() + 60_000 };
    t.answer(async () => ({ snapshot: { sessions: [session], users: [user] }, asOfMs: t.now() }));
    await t.sync.read();
    await t.sync.read();
    expect(t.revocations.isRevoked({ sub: 'u2', sid: 's1', iat: 0 })).toBe(true);
    expect(t.revocations.isRevoked({ sub: 'u1', sid: 'x', iat: Math.floor((t.now() - 2000) / 1000) })).toBe(true);
    expect(t.added).toEqual([{ sessions: ['s1'], users: [{ id: 'u1', revokedAtMs: user.revokedAtMs }] }]);
  });

  it("asks from shortly before identity's clock of the previous read", async () => {
    const t = setup();
    t.answer(async () => ({ snapshot: EMPTY, asOfMs: 50_000 }));
    await t.sync.read();
    await t.sync.read();
    expect(t.asked).toEqual([undefined, 40_000]);
  });

  it('goes stale once no read succeeded for the bound, and recovers with the next one', async () => {
    const t = setup(5000);
    await t.sync.read();
    t.answer(async () => {
      throw new Error('identity is unreachable');
    });
    t.advance(4000);
    expect(await t.sync.read()).toBe(false);
    expect(t.sync.fresh).toBe(true);
    t.advance(1500);
    expect(await t.sync.read()).toBe(false);
    expect(t.sync.fresh).toBe(false);
    expect(t.sync.status()).toMatchObject({ ok: false, lastConfirmedMsAgo: 5500, detail: 'identity is unreachable' });
    const error = (() => {
      try {
        t.sync.assertFresh();
      } catch (caught) {
        return caught as RevocationsStaleError;
      }
    })();
    expect(error?.extensions).toMatchObject({ code: 'UNAVAILABLE' });
    t.answer(async () => ({ snapshot: EMPTY, asOfMs: t.now() }));
    expect(await t.sync.read()).toBe(true);
    expect(t.sync.fresh).toBe(true);
  });

  it('retries a failed first read within a second, however long the bound', async () => {
    let calls = 0;
    const sync = new RevocationSync({
      revocations: new RevocationList(),
      boundMs: 300_000,
      logger,
      source: async () => {
        if (++calls === 1) throw new Error('identity is still starting');
        return { snapshot: EMPTY, asOfMs: Date.now() };
      },
    });
    try {
      await sync.start();
      expect(sync.fresh).toBe(false);
      await waitFor(() => sync.fresh, 'a second read', 1000);
      expect(calls).toBe(2);
    } finally {
      sync.close();
    }
  });

  it('joins a read already on its way instead of starting another', async () => {
    const t = setup();
    let release = (): void => {};
    t.answer(() => new Promise((resolve) => (release = () => resolve({ snapshot: EMPTY, asOfMs: 1 }))));
    const first = t.sync.read();
    const second = t.sync.read();
    release();
    await Promise.all([first, second]);
    expect(t.asked).toHaveLength(1);
  });
});
