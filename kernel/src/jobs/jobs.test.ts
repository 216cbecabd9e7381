import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { ServiceMetrics } from '../metrics/metrics.js';
import { PermanentJobError, type ScheduleRun } from './queue.js';
import { backendKinds, MODULE, openFleet, waitFor, type JobsFleet } from './__tests__/harness.js';

const fast = { backoffMs: 10, timeoutMs: 5000 };

describe.each(backendKinds())('jobs on the $kind backend', ({ kind }) => {
  let fleet: JobsFleet;
  beforeAll(async () => {
    fleet = await openFleet(kind);
  });
  afterAll(() => fleet?.cleanup());
  afterEach(() => fleet.reset());

  it('retries a failing job with backoff until it succeeds, counting each try', async () => {
    const metrics = new ServiceMetrics(MODULE);
    const jobs = fleet.instance({ metrics });
    const attempts: number[] = [];
    jobs.defineQueue(
      'flaky',
      async (payload, job) => {
        attempts.push(job.attempt);
        expect(payload).toEqual({ n: 1 });
        expect(job.queue).toBe(`${MODULE}.flaky`);
        expect(job.maxAttempts).toBe(4);
        if (job.attempt < 3) throw new Error(`try ${job.attempt} failed`);
      },
      { ...fast, attempts: 4 },
    );
    await jobs.start();
    await jobs.enqueue('flaky', { n: 1 });
    await waitFor(async () => (await jobs.report()).queues[0]?.counts.completed === 1, 'the job to complete');
    expect(attempts).toEqual([1, 2, 3]);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`jobs_total{queue="${MODULE}.flaky",status="failed",service="${MODULE}"} 2`);
    expect(text).toContain(`jobs_total{queue="${MODULE}.flaky",status="completed",service="${MODULE}"} 1`);
    expect(text).toMatch(new RegExp(`job_duration_seconds_count\\{[^}]*queue="${MODULE}.flaky"[^}]*\\} 3`));
    expect(text).toContain(`jobs_waiting{queue="${MODULE}.flaky",service="${MODULE}"} 0`);
  });

  it('dead-letters a job after its last try; a retry runs it again', async () => {
    const jobs = fleet.instance();
    let healed = false;
    const runs: number[] = [];
    jobs.defineQueue(
      'fragile',
      async (_payload, job) => {
        runs.push(job.attempt);
        if (!healed) throw new Error('the mail server refused');
      },
      { ...fast, attempts: 2 },
    );
    jobs.defineQueue(
      'refused',
      async () => {
        throw new PermanentJobError('no such mailbox');
      },
      { ...fast, attempts: 5 },
    );
    await jobs.start();
    const id = await jobs.enqueue('fragile', {});
    const refused = await jobs.enqueue('refused', {});
    await waitFor(async () => (await jobs.report()).dead.length === 2, 'both jobs to be dead');
    const report = await jobs.report();
    expect(report.backend).toBe(kind);
    const dead = report.dead.find((job) => job.id === id);
    expect(dead).toMatchObject({ queue: `${MODULE}.fragile`, state: 'dead', attempts: 2, maxAttempts: 2 });
    expect(dead?.lastError).toContain('the mail server refused');
    // A permanent failure is dead at its first try.
    expect(report.dead.find((job) => job.id === refused)).toMatchObject({ attempts: 1 });
    expect(runs).toEqual([1, 2]);

    expect(await jobs.retry('00000000-0000-4000-8000-000000000000')).toBe('not-found');
    healed = true;
    expect(await jobs.retry(id)).toBe('retried');
    await waitFor(
      async () => (await jobs.report()).queues.find((q) => q.queue === `${MODULE}.fragile`)?.counts.completed === 1,
      'the retried job to complete',
    );
    expect(runs).toEqual([1, 2, 1]);
    expect(await jobs.retry(id)).toBe('not-dead');
  });

  it('answers the first job for a second enqueue with its idempotency key, and holds a delayed job', async () => {
    const jobs = fleet.instance();
    const seen: unknown[] = [];
    jobs.defineQueue('once', async (payload) => void seen.push(payload), fast);
    const first = await jobs.enqueue('once', { n: 1 }, { idempotencyKey: 'welcome:u1', delayMs: 400 });
    const second = await jobs.enqueue('once', { n: 2 }, { idempotencyKey: 'welcome:u1' });
    expect(second).toBe(first);
    const counts = (await jobs.report()).queues.find((q) => q.queue === `${MODULE}.once`)?.counts;
    expect(counts).toMatchObject({ delayed: 1, waiting: 0 });
    await jobs.start();
    await waitFor(() => seen.length === 1, 'the delayed job to run');
    expect(seen).toEqual([{ n: 1 }]);
    // Completed, its key is still taken within the retention.
    expect(await jobs.enqueue('once', { n: 3 }, { idempotencyKey: 'welcome:u1' })).toBe(first);
  });

  it('runs at most `concurrency` jobs of a queue at once in an instance', async () => {
    const jobs = fleet.instance();
    let running = 0;
    let most = 0;
    let done = 0;
    jobs.defineQueue(
      'bounded',
      async () => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 40));
        running--;
        done++;
      },
      { ...fast, concurrency: 2 },
    );
    for (let n = 0; n < 6; n++) await jobs.enqueue('bounded', { n });
    await jobs.start();
    await waitFor(() => done === 6, 'every job to run');
    expect(most).toBe(2);
  });

  it('keeps a queued job across a restart: the next instance runs it', async () => {
    const before = fleet.instance();
    before.defineQueue('durable', async () => {
      throw new Error('the first instance never runs it');
    });
    const id = await before.enqueue('durable', { keep: true });
    await fleet.reopen();
    const after = fleet.instance();
    const ran: Array<{ id: string; payload: unknown }> = [];
    after.defineQueue('durable', async (payload, job) => void ran.push({ id: job.id, payload }), fast);
    await after.start();
    await waitFor(() => ran.length === 1, 'the job to run after the restart');
    expect(ran).toEqual([{ id, payload: { keep: true } }]);
  });

  it('runs each tick of a schedule once however many instances run it', async () => {
    const runs: ScheduleRun[] = [];
    const schedules = [{ name: 'every-second', cron: '* * * * * *', queue: 'tick' }];
    const instances = [fleet.instance({ schedules }), fleet.instance({ schedules })];
    for (const jobs of instances) {
      jobs.defineQueue('tick', async (payload) => void runs.push(payload as ScheduleRun), { ...fast, concurrency: 4 });
      await jobs.start();
    }
    await waitFor(() => runs.length >= 3, 'three ticks', 10_000);
    const ticks = runs.map((run) => run.tick);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(runs.every((run) => run.schedule === 'every-second' && run.tick.endsWith('.000Z'))).toBe(true);
    const [schedule] = (await instances[0]!.report()).schedules;
    expect(schedule).toMatchObject({ name: `${MODULE}.every-second`, cron: '* * * * * *', queue: `${MODULE}.tick` });
    expect(schedule?.lastRunAt).not.toBeNull();
    expect(Date.parse(schedule!.nextRunAt!)).toBeGreaterThan(Date.parse(schedule!.lastRunAt!));
  });

  it('removes a schedule no longer declared', async () => {
    const first = fleet.instance({ schedules: [{ name: 'nightly', cron: '0 3 * * *', queue: 'tick' }] });
    first.defineQueue('tick', async () => {});
    // Declared, not stored yet (no instance started): listed without runs.
    expect((await first.report()).schedules).toEqual([
      { name: `${MODULE}.nightly`, cron: '0 3 * * *', queue: `${MODULE}.tick`, lastRunAt: null, nextRunAt: null },
    ]);
    await first.start();
    expect((await first.report()).schedules[0]?.nextRunAt).toMatch(/T03:00:00\.000Z$/);
    expect((await first.report()).schedules.map((s) => s.name)).toEqual([`${MODULE}.nightly`]);
    const second = fleet.instance({ schedules: [] });
    second.defineQueue('tick', async () => {});
    await second.start();
    expect((await second.report()).schedules).toEqual([]);
  });

  it('lets a running job finish when the instance stops', async () => {
    const jobs = fleet.instance();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    let finished = false;
    jobs.defineQueue(
      'held',
      async () => {
        started = true;
        await held;
        finished = true;
      },
      fast,
    );
    await jobs.start();
    await jobs.enqueue('held', {});
    await waitFor(() => started, 'the job to start');
    const stopping = jobs.stop();
    release();
    await stopping;
    expect(finished).toBe(true);
    expect((await jobs.report()).queues[0]?.counts).toMatchObject({ completed: 1, active: 0, waiting: 0 });
  });

  it('hands a job still running at the shutdown bound back, aborted, without counting the try', async () => {
    const before = fleet.instance();
    let aborted = false;
    before.defineQueue(
      'stubborn',
      async (_payload, job) => {
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
        aborted = true;
      },
      { ...fast, attempts: 1 },
    );
    await before.start();
    const id = await before.enqueue('stubborn', {});
    await waitFor(async () => (await before.report()).queues[0]?.counts.active === 1, 'the job to run');
    await before.stop(); // jobs.shutdownTimeoutMs (300 ms here), then aborted
    expect(aborted).toBe(true);

    const after = fleet.instance();
    const ran: Array<{ id: string; attempt: number }> = [];
    after.defineQueue('stubborn', async (_payload, job) => void ran.push({ id: job.id, attempt: job.attempt }), fast);
    await after.start();
    await waitFor(() => ran.length === 1, 'the next instance to run it');
    expect(ran).toEqual([{ id, attempt: 1 }]);
  });
});

describe.each(backendKinds())('jobs of an instance that died, on the $kind backend', ({ kind }) => {
  let fleet: JobsFleet;
  beforeAll(async () => {
    fleet = await openFleet(kind, { leaseMs: 300 });
  });
  afterAll(() => fleet?.cleanup());

  it('runs again a job whose instance died mid-try, once its lease lapsed', async () => {
    const seed = fleet.instance();
    seed.defineQueue('orphan', async () => {});
    const id = await seed.enqueue('orphan', { n: 1 });
    // An instance claimed it and died: its lease is never renewed, the job never finished.
    const dies = await claimAndDie(fleet, id);
    try {
      const survivor = fleet.instance();
      const ran: string[] = [];
      survivor.defineQueue('orphan', async (_payload, job) => void ran.push(job.id), fast);
      await survivor.start();
      await waitFor(() => ran.length === 1, 'the orphaned job to run');
      expect(ran).toEqual([id]);
    } finally {
      await dies();
    }
  });
});

/** Claims job `id` as an instance would, then "dies" (never renews nor finishes); answers how to clean up after it. */
async function claimAndDie(fleet: JobsFleet, id: string): Promise<() => Promise<void>> {
  if (!fleet.config.redis.url) {
    await fleet.db.fork().execute(
      `update "${fleet.db.schema}".kernel_job set state = 'active', attempts = 1, locked_by = 'gone',
           locked_until = clock_timestamp() + interval '300 milliseconds' where id = ?`,
      [id],
    );
    return async () => {};
  }
  const connection = new Redis(fleet.config.redis.url, { maxRetriesPerRequest: null });
  const ghost = new Worker(`${MODULE}.orphan`, null, {
    connection,
    prefix: `${fleet.config.redis.keyPrefix}:jobs`,
    autorun: false,
    lockDuration: 300,
  });
  expect((await ghost.getNextJob('ghost', { block: false }))?.id).toBe(id);
  return async () => {
    await ghost.close(true);
    connection.disconnect();
  };
}

describe('jobs on the database backend', () => {
  let fleet: JobsFleet;
  beforeAll(async () => {
    fleet = await openFleet('database');
  });
  afterAll(() => fleet?.cleanup());
  afterEach(() => fleet.reset());

  it('prunes completed jobs after their retention and keeps dead ones longer', async () => {
    const jobs = fleet.instance();
    const ran: string[] = [];
    jobs.defineQueue('kept', async (_payload, job) => void ran.push(job.id));
    const old = [await jobs.enqueue('kept', { n: 1 }), await jobs.enqueue('kept', { n: 2 })];
    const recent = await jobs.enqueue('kept', { n: 3 });
    // Finished two days ago: past the completed retention (a day), within the dead one (14 days).
    await fleet.db.fork().execute(
      `update "${fleet.db.schema}".kernel_job set state = case when id = ? then 'completed' else 'dead' end,
         finished_at = now() - interval '2 days' where id in (?, ?)`,
      [old[0], ...old],
    );
    await jobs.start(); // its first claim prunes, then takes the recent job
    await waitFor(() => ran.length === 1, 'the recent job to run');
    await waitFor(async () => (await jobs.report()).queues[0]?.counts.active === 0, 'the recent job to be recorded');
    const report = await jobs.report();
    expect(report.queues[0]?.counts).toMatchObject({ completed: 1, dead: 1 });
    expect(report.dead.map((job) => job.id)).toEqual([old[1]]);
    expect(await jobs.retry(old[0]!)).toBe('not-found');
    expect(ran).toEqual([recent]);
  });

  it('fails a try that runs past its timeout, its signal aborted', async () => {
    const jobs = fleet.instance();
    let aborted = false;
    jobs.defineQueue(
      'slow',
      async (_payload, job) => {
        await new Promise<void>((resolve) => job.signal.addEventListener('abort', () => resolve()));
        aborted = true;
      },
      { attempts: 1, timeoutMs: 50 },
    );
    await jobs.start();
    await jobs.enqueue('slow', {});
    await waitFor(async () => (await jobs.report()).dead.length === 1, 'the job to time out');
    expect(aborted).toBe(true);
    expect((await jobs.report()).dead[0]?.lastError).toContain('timeout (50 ms)');
  });
});
