import { randomUUID } from 'node:crypto';
import type { ModuleDatabase } from '../database/database.js';
import { backoffDelay } from '../retry/backoff.js';
import { type BackendContext, type JobsBackend, type RetryOutcome } from './backend.js';
import { nextTick, QUEUE_DEFAULTS, type QueueDefinition, type ScheduleDefinition, type ScheduleRun } from './queue.js';
import { runTry } from './runner.js';
import { insertJob, ms, quoteIdent } from './database-sql.js';
import { QueueWorker, type ClaimedRow, type WorkerHost } from './database-worker.js';
import type { EnqueueOptions, JobsReport } from './types.js';
import { databaseReport } from './database-report.js';

export interface DatabaseJobsOptions extends BackendContext {
  db: ModuleDatabase;
  pollIntervalMs: number;
  leaseMs: number;
  completedRetentionSec: number;
  deadRetentionSec: number;
}

const PRUNE_EVERY_MS = 60_000;
/** Backoff never exceeds this (an hour). */
const MAX_BACKOFF_MS = 3_600_000;

/**
 * The jobs backend of the embedded default (and of PostgreSQL without Redis): a queue table in the
 * module's own schema. An instance claims due jobs with `FOR UPDATE SKIP LOCKED` and a lease it
 * renews while they run, so a job whose instance died runs again once the lease lapses. Idle
 * workers poll; an enqueue in this process wakes its queue at once.
 */
export class DatabaseJobs implements JobsBackend, WorkerHost {
  readonly kind = 'database' as const;
  readonly #options: DatabaseJobsOptions;
  readonly #job: string;
  readonly #schedule: string;
  readonly #instance = randomUUID();
  readonly #workers = new Map<string, QueueWorker>();
  readonly #shutdown = new AbortController();
  #loops: Promise<void>[] = [];
  #stopping = false;
  #wakeSchedules: (() => void) | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #lastPrune = 0;

  constructor(options: DatabaseJobsOptions) {
    this.#options = options;
    this.#job = `${quoteIdent(options.db.schema)}.kernel_job`;
    this.#schedule = `${quoteIdent(options.db.schema)}.kernel_job_schedule`;
  }

  async enqueue(queue: QueueDefinition, payload: unknown, options: EnqueueOptions): Promise<string> {
    const id = await insertJob(this.#options.db.fork(), this.#job, queue, payload, options);
    if (!options.delayMs) this.#workers.get(queue.name)?.wake();
    return id;
  }

  async start(
    queues: readonly QueueDefinition[],
    schedules: readonly ScheduleDefinition[],
    tick: boolean,
  ): Promise<void> {
    if (tick) await this.#syncSchedules(schedules);
    for (const queue of queues) {
      const worker = new QueueWorker(this, queue);
      this.#workers.set(queue.name, worker);
      this.#loops.push(worker.run());
    }
    const { leaseMs } = this.#options;
    this.#heartbeat = setInterval(() => void this.#renewLeases(), Math.max(50, Math.floor(leaseMs / 3)));
    this.#heartbeat.unref();
    this.#loops.push(this.#scheduleLoop(tick && schedules.length > 0));
  }

  async stop(timeoutMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#wakeSchedules?.();
    for (const worker of this.#workers.values()) worker.wake();
    const running = Promise.all([...this.#workers.values()].map((worker) => worker.drained()));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    if ((await Promise.race([running, bound])) === 'timeout') {
      this.#shutdown.abort(new Error('the instance is shutting down'));
      await running;
    }
    clearTimeout(timer);
    await Promise.all(this.#loops);
    clearInterval(this.#heartbeat);
  }

  async close(): Promise<void> {
    await this.stop(0);
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  get options(): DatabaseJobsOptions {
    return this.#options;
  }

  get shutdownSignal(): AbortSignal {
    return this.#shutdown.signal;
  }

  /** Claims up to `limit` due jobs of `queue` (and jobs whose instance's lease lapsed). */
  async claim(queue: string, limit: number): Promise<ClaimedRow[]> {
    await this.#pruneNowAndThen();
    return this.#options.db.fork().execute<ClaimedRow[]>(
      `update ${this.#job} set state = 'active', attempts = attempts + 1, locked_by = ?,
         locked_until = clock_timestamp() + ? * interval '1 millisecond'
       where id in (
         select id from ${this.#job}
         where queue = ? and run_at <= now()
           and (state = 'waiting' or (state = 'active' and locked_until < now()))
         order by run_at, created_at limit ? for update skip locked)
       returning id, queue, payload, attempts, max_attempts`,
      [this.#instance, this.#options.leaseMs, queue, limit],
    );
  }

  /** Runs one claimed try and records how it ended. */
  async process(queue: QueueDefinition, row: ClaimedRow): Promise<void> {
    const { module, logger, metrics } = this.#options;
    if (row.attempts > row.max_attempts) {
      // Its last try was claimed by an instance that stopped renewing the lease (it died).
      await this.#finish(row.id, 'dead', 'the instance running its last try stopped (its lease lapsed)');
      metrics.total.inc({ queue: `${module}.${queue.name}`, status: 'dead' });
      return;
    }
    const result = await runTry(
      queue,
      {
        id: row.id,
        queue: `${module}.${queue.name}`,
        payload: row.payload,
        attempt: row.attempts,
        maxAttempts: row.max_attempts,
        shutdown: this.#shutdown.signal,
      },
      logger,
      metrics,
      this.#options.errors,
    );
    try {
      if (result.interrupted) await this.#handBack(row.id);
      else if (result.outcome === 'failed') {
        const delay = backoffDelay(row.attempts, { baseMs: queue.options.backoffMs, maxMs: MAX_BACKOFF_MS });
        await this.#options.db.fork().execute(
          `update ${this.#job} set state = 'waiting', locked_by = null, locked_until = null, last_error = ?,
               run_at = clock_timestamp() + ? * interval '1 millisecond' where id = ? and locked_by = ?`,
          [result.error ?? null, delay, row.id, this.#instance],
          'run',
        );
      } else await this.#finish(row.id, result.outcome, result.error ?? null);
    } catch (error) {
      // The lease lapses and the job runs again: at least once.
      logger.error({ err: error, jobId: row.id }, 'could not record how a job ended');
    }
  }

  async #finish(id: string, state: 'completed' | 'dead', error: string | null): Promise<void> {
    await this.#options.db.fork().execute(
      `update ${this.#job} set state = ?, finished_at = now(), locked_by = null, locked_until = null,
           last_error = coalesce(?, last_error) where id = ? and locked_by = ?`,
      [state, error, id, this.#instance],
      'run',
    );
  }

  /** A try the shutdown interrupted does not count: the job waits for the next instance. */
  async #handBack(id: string): Promise<void> {
    await this.#options.db.fork().execute(
      `update ${this.#job} set state = 'waiting', attempts = greatest(attempts - 1, 0), locked_by = null,
           locked_until = null, run_at = now() where id = ? and locked_by = ?`,
      [id, this.#instance],
      'run',
    );
  }

  async #renewLeases(): Promise<void> {
    try {
      await this.#options.db.fork().execute(
        `update ${this.#job} set locked_until = clock_timestamp() + ? * interval '1 millisecond'
           where locked_by = ? and state = 'active'`,
        [this.#options.leaseMs, this.#instance],
        'run',
      );
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'could not renew the leases of running jobs');
    }
  }

  async #pruneNowAndThen(): Promise<void> {
    if (Date.now() - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = Date.now();
    const { completedRetentionSec, deadRetentionSec } = this.#options;
    await this.#options.db.fork().execute(
      `delete from ${this.#job} where (state = 'completed' and finished_at < now() - ? * interval '1 second')
         or (state = 'dead' and finished_at < now() - ? * interval '1 second')`,
      [completedRetentionSec, deadRetentionSec],
      'run',
    );
  }

  /** Stores the declared schedules (a changed cron starts from its next tick); removes the others. */
  async #syncSchedules(schedules: readonly ScheduleDefinition[]): Promise<void> {
    await this.#options.db.fork().transactional(async (em) => {
      const names = schedules.map((schedule) => schedule.name);
      await em.execute(
        names.length > 0
          ? `delete from ${this.#schedule} where name not in (${names.map(() => '?').join(', ')})`
          : `delete from ${this.#schedule}`,
        names,
        'run',
      );
      for (const schedule of schedules) {
        await em.execute(
          `insert into ${this.#schedule} as s (name, cron, queue, next_run_at) values (?, ?, ?, ?)
           on conflict (name) do update set queue = excluded.queue, cron = excluded.cron,
             next_run_at = case when s.cron = excluded.cron then s.next_run_at else excluded.next_run_at end`,
          [schedule.name, schedule.cron, schedule.queue, nextTick(schedule.cron, new Date()).toISOString()],
          'run',
        );
      }
    });
  }

  /** Fires due schedule ticks until stopped: sleeps to the next tick, at most a poll interval. */
  async #scheduleLoop(any: boolean): Promise<void> {
    if (!any) return;
    while (!this.#stopping) {
      let wait = this.#options.pollIntervalMs;
      try {
        const next = await this.#fireDueSchedules();
        if (next !== undefined) wait = Math.max(0, Math.min(wait, next - Date.now() + 5));
      } catch (error) {
        if (this.#stopping) return;
        this.#options.logger.warn({ err: error }, 'could not run due schedules');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wakeSchedules = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /**
   * Claims each due tick in one transaction with the run it enqueues: the row is locked
   * (skip locked) and moved to the next tick, so one instance runs a tick. Missed ticks are not
   * caught up one by one: one run, then the next tick after now. Answers when the next tick is due.
   */
  async #fireDueSchedules(): Promise<number | undefined> {
    const woken = new Set<string>();
    const next = await this.#options.db.fork().transactional(async (em) => {
      const due = await em.execute<Array<{ name: string; cron: string; queue: string; tick: number }>>(
        `select name, cron, queue, ${ms('next_run_at')} as tick from ${this.#schedule}
         where next_run_at <= now() for update skip locked`,
      );
      for (const schedule of due) {
        // A schedule another version of the module stored (a rolling deploy): its run waits for an instance that knows it.
        const queue = this.#workers.get(schedule.queue)?.queue ?? {
          name: schedule.queue,
          options: QUEUE_DEFAULTS,
          handler: async () => {},
        };
        const tick = new Date(Number(schedule.tick));
        const following = nextTick(schedule.cron, new Date(Math.max(Date.now(), tick.getTime())));
        await em.execute(
          `update ${this.#schedule} set last_run_at = next_run_at, next_run_at = ? where name = ?`,
          [following.toISOString(), schedule.name],
          'run',
        );
        const run: ScheduleRun = { schedule: schedule.name, tick: tick.toISOString() };
        await insertJob(em, this.#job, queue, run, { idempotencyKey: `schedule:${schedule.name}:${run.tick}` });
        woken.add(queue.name);
      }
      const [soonest] = await em.execute<Array<{ at: number | null }>>(
        `select ${ms('min(next_run_at)')} as at from ${this.#schedule}`,
      );
      return soonest?.at == null ? undefined : Number(soonest.at);
    });
    for (const name of woken) this.#workers.get(name)?.wake();
    return next;
  }

  report(queues: readonly string[]): Promise<JobsReport> {
    return databaseReport(this.#options.db.fork(), this.#options.db.schema, this.#options.module, queues);
  }

  async retry(id: string): Promise<RetryOutcome> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return 'not-found';
    const em = this.#options.db.fork();
    const rows = await em.execute<Array<{ id: string }>>(
      `update ${this.#job} set state = 'waiting', attempts = 0, run_at = now(), finished_at = null
       where id = ? and state = 'dead' returning id`,
      [id],
    );
    if (rows.length > 0) {
      const queue = (
        await em.execute<Array<{ queue: string }>>(`select queue from ${this.#job} where id = ?`, [id])
      )[0];
      if (queue) this.#workers.get(queue.queue)?.wake();
      return 'retried';
    }
    const found = await em.execute<Array<{ id: string }>>(`select id from ${this.#job} where id = ?`, [id]);
    return found.length > 0 ? 'not-dead' : 'not-found';
  }

  async waiting(queues: readonly string[]): Promise<Record<string, number>> {
    const rows = await this.#options.db
      .fork()
      .execute<Array<{ queue: string; n: number }>>(
        `select queue, count(*)::int as n from ${this.#job} where state = 'waiting' group by queue`,
      );
    const counts: Record<string, number> = Object.fromEntries(queues.map((queue) => [queue, 0]));
    for (const row of rows) counts[row.queue] = Number(row.n);
    return counts;
  }
}
