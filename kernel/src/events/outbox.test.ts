import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { ModuleDatabase } from '../database/database.js';
import { createEvent, type PlatformEvent } from './event.js';
import { handleOnce } from './handle-once.js';
import { OutboxRelay, recordEvents, type OutboxRelayOptions } from './outbox.js';
import { RedisEventBus } from './redis-bus.js';
import { openEventsDatabase, RecordingBus } from './__tests__/database.js';
import { busKinds, deferred, redisTestOptions, silent, waitFor } from './__tests__/harness.js';

interface OutboxState {
  id: string;
  published: boolean;
  attempts: number;
  last_error: string | null;
}

let db: ModuleDatabase;
let closeDb: () => Promise<void>;
let table: string;
const relays: OutboxRelay[] = [];

beforeAll(async () => {
  ({ db, close: closeDb } = await openEventsDatabase());
  table = `"${db.schema}".outbox`;
});
afterAll(() => closeDb());
beforeEach(() => db.fork().execute(`delete from ${table}`));
afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.stop()));
});

const event = (n: number): PlatformEvent => createEvent('blog', 'blog.post.created', { n });

function startRelay(options: Omit<OutboxRelayOptions, 'db' | 'logger'>): OutboxRelay {
  const relay = new OutboxRelay({ db, logger: silent, ...options });
  relays.push(relay);
  relay.start();
  return relay;
}

async function commit(events: PlatformEvent[]): Promise<void> {
  await db.fork().transactional(async (em) => {
    await recordEvents(em, db.schema, events);
  });
}

async function state(id: string): Promise<OutboxState | undefined> {
  const rows = await db
    .fork()
    .execute<OutboxState[]>(
      `select id, published_at is not null as published, attempts, last_error from ${table} where id = ?`,
      [id],
    );
  return rows[0];
}

describe.each(busKinds())('outbox relay to the $kind bus', ({ make }) => {
  it('publishes a committed event exactly once, without waiting for the poll', async () => {
    const harness = make();
    try {
      const bus = new RecordingBus(harness.create());
      const delivered: string[] = [];
      await bus.subscribe('blog.*', (e) => void delivered.push(e.id), { group: 'reader' });
      // A poll interval far beyond the test: only the commit itself can wake the relay.
      startRelay({ bus, pollIntervalMs: 600_000 });

      const [first, second] = [event(1), event(2)];
      await commit([first, second]);
      await waitFor(async () => (await state(second.id))?.published === true, 'published_at to be set');
      expect(await state(first.id)).toMatchObject({ published: true, attempts: 0, last_error: null });

      const third = event(3);
      await commit([third]);
      await waitFor(() => delivered.includes(third.id), 'the third event');
      expect(bus.published.map((e) => e.id)).toEqual([first.id, second.id, third.id]);
      expect(delivered).toEqual([first.id, second.id, third.id]);
      expect(bus.published[0]).toEqual(first);
    } finally {
      await harness.cleanup();
    }
  });

  it('publishes an event written outside a transaction without waiting for the poll', async () => {
    const harness = make();
    try {
      const bus = new RecordingBus(harness.create());
      startRelay({ bus, pollIntervalMs: 600_000 });
      const single = event(4);
      // Autocommitted: no transaction commits, the write itself wakes the relay.
      await recordEvents(db.fork(), db.schema, single);
      await waitFor(async () => (await state(single.id))?.published === true, 'published_at to be set');
      expect(bus.published.map((e) => e.id)).toEqual([single.id]);
    } finally {
      await harness.cleanup();
    }
  });
});

describe('outbox relay', () => {
  it('publishes nothing from a rolled-back transaction', async () => {
    const bus = new RecordingBus();
    startRelay({ bus, pollIntervalMs: 20 });
    const doomed = event(1);
    await expect(
      db.fork().transactional(async (em) => {
        await recordEvents(em, db.schema, doomed);
        throw new Error('validation failed');
      }),
    ).rejects.toThrow('validation failed');

    const sentinel = event(2);
    await commit([sentinel]);
    await waitFor(() => bus.count(sentinel.id) === 1, 'the sentinel');
    expect(bus.published.map((e) => e.id)).toEqual([sentinel.id]);
    expect(await state(doomed.id)).toBeUndefined();
  });

  it('keeps rows while the bus fails, counting attempts, and sends them once it recovers', async () => {
    const bus = new RecordingBus();
    bus.failWith = new Error('redis is down');
    const relay = startRelay({ bus, pollIntervalMs: 20, maxBackoffMs: 100 });
    const waiting = event(1);
    await commit([waiting]);
    await waitFor(async () => ((await state(waiting.id))?.attempts ?? 0) >= 2, 'failed attempts to be counted');
    expect(await state(waiting.id)).toMatchObject({
      published: false,
      last_error: expect.stringContaining('redis is down'),
    });
    expect(bus.published).toEqual([]);

    bus.failWith = undefined;
    relay.kick();
    await waitFor(async () => (await state(waiting.id))?.published === true, 'publication after recovery');
    expect(bus.published.map((e) => e.id)).toEqual([waiting.id]);
    expect(await state(waiting.id)).toMatchObject({ last_error: null });
  });

  it('re-publishes recently published rows when the bus reports a reset, but not older ones', async () => {
    // Published two hours ago (recorded before any relay ran, so nothing claims it now).
    const old = event(0);
    await db.fork().transactional(async (em) => {
      await recordEvents(em, db.schema, old);
      await em.execute(`update ${table} set published_at = now() - interval '2 hours' where id = ?`, [old.id]);
    });
    const bus = new RecordingBus();
    startRelay({ bus, pollIntervalMs: 20, replayWindowMs: 60 * 60_000 });
    const recent = [event(1), event(2)];
    await commit(recent);
    await waitFor(async () => (await state(recent[1]!.id))?.published === true);

    bus.triggerReset();
    await waitFor(() => recent.every((e) => bus.count(e.id) === 2), 'the replay');
    expect(bus.published.map((e) => e.payload.n)).toEqual([1, 2, 1, 2]);
    expect(bus.count(old.id)).toBe(0);
  });

  it('deletes published rows past retention, and keeps the rest', async () => {
    const [expired, kept, pending] = [event(1), event(2), event(3)];
    await db.fork().transactional(async (em) => {
      await recordEvents(em, db.schema, [expired, kept, pending]);
      await em.execute(`update ${table} set published_at = now() - interval '8 days' where id = ?`, [expired.id]);
      await em.execute(`update ${table} set published_at = now() - interval '6 days' where id = ?`, [kept.id]);
    });
    const bus = new RecordingBus();
    startRelay({ bus, pollIntervalMs: 20 });
    await waitFor(async () => (await state(expired.id)) === undefined, 'the expired row to go');
    await waitFor(() => bus.count(pending.id) === 1);
    expect(await state(kept.id)).toMatchObject({ published: true });
    expect(bus.count(kept.id)).toBe(0);
  });

  it('leaves a row another process claimed alone until the claim lapses, then publishes it', async () => {
    const orphan = event(1);
    await commit([orphan]); // no relay here yet: unclaimed
    // As a process that recorded it and died before its commit hook ran would leave it.
    await db
      .fork()
      .execute(`update ${table} set claimed_until = clock_timestamp() + interval '600 milliseconds' where id = ?`, [
        orphan.id,
      ]);
    const bus = new RecordingBus();
    startRelay({ bus, pollIntervalMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bus.count(orphan.id)).toBe(0);
    // Published, and marked so (the bus sees it before the relay's transaction commits).
    await waitFor(async () => (await state(orphan.id))?.published === true, 'the orphan after its claim lapsed');
    expect(bus.count(orphan.id)).toBe(1);
    expect(await state(orphan.id)).toMatchObject({ published: true, attempts: 0 });
  });

  it('claims what it records for its own relay, which other relays leave alone', async () => {
    const bus = new RecordingBus();
    const release = deferred();
    bus.hold = release.promise; // the hand-off stays in progress until released
    startRelay({ bus, pollIntervalMs: 600_000 });
    const mine = event(1);
    await commit([mine]);
    await waitFor(() => bus.calls > 0, 'the hand-off to start');
    const claims = await db
      .fork()
      .execute<Array<{ claimed: boolean }>>(`select claimed_until > now() as claimed from ${table} where id = ?`, [
        mine.id,
      ]);
    expect(claims).toEqual([{ claimed: true }]);
    // Another replica polling now finds nothing to do.
    const other = new RecordingBus();
    startRelay({ bus: other, pollIntervalMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(other.published).toEqual([]);
    release.resolve();
    await waitFor(async () => (await state(mine.id))?.published === true, 'published_at to be set');
    expect(bus.count(mine.id)).toBe(1);
    expect(other.published).toEqual([]);
  });

  it('publishes what a nested transaction recorded only once the whole transaction commits', async () => {
    const bus = new RecordingBus();
    startRelay({ bus, pollIntervalMs: 600_000 }); // only commits wake it
    const [kept, undone, outer] = [event(1), event(2), event(3)];
    let released = false;
    await db.fork().transactional(async (em) => {
      await em.transactional(async (nested) => recordEvents(nested, db.schema, kept));
      await expect(
        em.transactional(async (nested) => {
          await recordEvents(nested, db.schema, undone);
          throw new Error('rolled back to the savepoint');
        }),
      ).rejects.toThrow('rolled back to the savepoint');
      await recordEvents(em, db.schema, outer);
      // The savepoint was released, the transaction is still open: nothing may be out yet.
      await new Promise((resolve) => setTimeout(resolve, 100));
      released = bus.published.length === 0;
    });
    expect(released).toBe(true);
    await waitFor(() => bus.count(kept.id) === 1 && bus.count(outer.id) === 1, 'both committed events');
    expect(bus.count(undone.id)).toBe(0);
    expect(await state(undone.id)).toBeUndefined();
  });

  it('publishes nothing a rolled-back transaction recorded, nested or not', async () => {
    const bus = new RecordingBus();
    startRelay({ bus, pollIntervalMs: 20 });
    const [inner, outer] = [event(1), event(2)];
    await expect(
      db.fork().transactional(async (em) => {
        await em.transactional(async (nested) => recordEvents(nested, db.schema, inner));
        await recordEvents(em, db.schema, outer);
        throw new Error('validation failed');
      }),
    ).rejects.toThrow('validation failed');
    const sentinel = event(3);
    await commit([sentinel]);
    await waitFor(() => bus.count(sentinel.id) === 1, 'the sentinel');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(bus.published.map((e) => e.id)).toEqual([sentinel.id]);
  });

  it('stop() waits for the batch in progress', async () => {
    const bus = new RecordingBus();
    const release = deferred();
    bus.hold = release.promise;
    const relay = startRelay({ bus, pollIntervalMs: 20 });
    const inFlight = event(1);
    await commit([inFlight]);
    await waitFor(() => bus.calls > 0, 'the relay to start publishing');

    let stopped = false;
    const stopping = relay.stop().then(() => (stopped = true));
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release.resolve();
    await stopping;
    expect(await state(inFlight.id)).toMatchObject({ published: true });
  });
});

// `for update skip locked` is what keeps two replicas apart; PGlite has one process per cluster.
if (process.env.DATABASE_URL) {
  describe('outbox relay on PostgreSQL', () => {
    it('lets two replicas share the work without sending a row twice', async () => {
      const bus = new RecordingBus();
      const events = Array.from({ length: 60 }, (_, n) => event(n));
      // Recorded while no relay ran here (so unclaimed, as another process's rows whose claim lapsed).
      await Promise.all([commit(events.slice(0, 30)), commit(events.slice(30))]);
      startRelay({ bus, pollIntervalMs: 10, batchSize: 7 });
      startRelay({ bus, pollIntervalMs: 10, batchSize: 7 });
      await waitFor(() => bus.published.length >= 60, 'all events');
      await waitFor(async () => {
        const [row] = await db
          .fork()
          .execute<Array<{ n: number }>>(`select count(*)::int as n from ${table} where published_at is null`);
        return row!.n === 0;
      });
      expect(bus.published.map((e) => e.id).sort()).toEqual(events.map((e) => e.id).sort());
    });

    it('measures retention and the replay window by the database clock, not by a skewed one of its own', async () => {
      const lastWeek = [event(1), event(2)];
      await db.fork().transactional(async (em) => {
        await recordEvents(em, db.schema, lastWeek);
        await em.execute(`update ${table} set published_at = now() - interval '6 days' where id in (?)`, [
          lastWeek.map((e) => e.id),
        ]);
      });
      // This instance's clock runs a month ahead of the database server's. (The embedded database
      // runs in the process, on its clock: no skew there.)
      const realNow = Date.now.bind(Date);
      const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 30 * 24 * 3600_000);
      try {
        const bus = new RecordingBus();
        startRelay({ bus, pollIntervalMs: 20, replayWindowMs: 7 * 24 * 3600_000 });
        const sentinel = event(3);
        await commit([sentinel]);
        await waitFor(async () => (await state(sentinel.id))?.published === true, 'the relay to run');
        await new Promise((resolve) => setTimeout(resolve, 100)); // a few polls, the first of which cleans up
        for (const e of lastWeek) expect(await state(e.id)).toMatchObject({ published: true });
        bus.triggerReset();
        await waitFor(() => lastWeek.every((e) => bus.count(e.id) === 1), 'the replay of last week');
      } finally {
        clock.mockRestore();
      }
    });
  });
}

// End to end: Redis loses the stream, the bus notices, the relay replays, the consumer deduplicates.
if (process.env.REDIS_URL) {
  describe('outbox relay with Redis data loss', () => {
    it('replays lost events to consumers, which handle them once', async () => {
      const harness = busKinds()
        .find(({ kind }) => kind === 'redis')!
        .make();
      const bus = new RedisEventBus(redisTestOptions(process.env.REDIS_URL!, harness.prefix!));
      try {
        await db.fork().execute(`create table if not exists "${db.schema}".seen (event_id uuid primary key)`);
        let deliveries = 0;
        await bus.subscribe(
          'blog.*',
          async (e) => {
            deliveries++;
            await handleOnce(db, 'seen', e, async (em) => {
              await em.execute(`insert into "${db.schema}".seen (event_id) values (?)`, [e.id]);
            });
          },
          { group: 'reader' },
        );
        startRelay({ bus, pollIntervalMs: 20 });
        const lost = event(1);
        await commit([lost]);
        await waitFor(() => deliveries === 1, 'the first delivery');

        await harness.redis!.del(`${harness.prefix}:stream`);
        await waitFor(() => deliveries === 2, 'the replayed delivery');
        const seen = await db.fork().execute(`select event_id from "${db.schema}".seen`);
        expect(seen).toEqual([{ event_id: lost.id }]);
      } finally {
        await Promise.all(relays.splice(0).map((relay) => relay.stop()));
        await bus.close();
        await harness.cleanup();
      }
    });
  });
}
