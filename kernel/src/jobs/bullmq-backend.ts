import { createHash, randomUUID } from 'node:crypto';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { DEAD_LISTED, type BackendContext, type JobsBackend, type RetryOutcome } from './backend.js';
import { QUEUE_NAME, type QueueDefinition, type ScheduleDefinition, type ScheduleRun } from './queue.js';
import { runTry } from './runner.js';
import type { EnqueueOptions, JobInfo, JobState, JobsReport, QueueInfo, ScheduleInfo } from './types.js';

export interface BullJobsOptions extends BackendContext {
  url: string;
  /** The deployment's Redis namespace (`redis.keyPrefix`): BullMQ's keys live under `<prefix>:jobs`. */
  keyPrefix: string;
  /** A worker's lock on a running job (renewed while it runs); a stalled job (its instance died) returns after it. */
  leaseMs: number;
  completedRetentionSec: number;
  deadRetentionSec: number;
}

/** Scheduler ids of module.yaml's schedules (other schedulers of a queue are left alone). */
const SCHEDULER = 'schedule-';

/**
 * The jobs backend with Redis: one BullMQ queue per module queue (`<module>.<queue>`), workers
 * with the queue's concurrency, BullMQ's retries with exponential backoff, its failed state as the
 * dead letter, job ids as idempotency keys and its job schedulers for the schedules (one job per
 * tick for the whole deployment).
 */
export class BullJobs implements JobsBackend {
  readonly kind = 'bullmq' as const;
  readonly #options: BullJobsOptions;
  readonly #prefix: string;
  /** Commands (enqueue, reports): they fail after a reconnect attempt rather than hang while Redis is away. */
  readonly #connection: Redis;
  /** The workers' (BullMQ duplicates it for their blocking reads): waits for Redis to come back. */
  #workerConnection: Redis | undefined;
  readonly #queues = new Map<string, Queue>();
  readonly #workers: Worker[] = [];
  readonly #shutdown = new AbortController();
  #stopped = false;

  constructor(options: BullJobsOptions) {
    this.#options = options;
    this.#prefix = `${options.keyPrefix}:jobs`;
    this.#connection = this.#connect(1);
  }

  #connect(maxRetriesPerRequest: number | null): Redis {
    const redis = new Redis(this.#options.url, { maxRetriesPerRequest, lazyConnect: true });
    redis.on('error', (error) => this.#options.logger.warn({ err: error }, 'jobs: Redis connection error'));
    return redis;
  }

  #queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(this.#fullName(name), { connection: this.#connection, prefix: this.#prefix });
      queue.on('error', (error) => this.#options.logger.warn({ err: error, queue: name }, 'jobs: queue error'));
      this.#queues.set(name, queue);
    }
    return queue;
  }

  #fullName(queue: string): string {
    return `${this.#options.module}.${queue}`;
  }

  #jobOptions(queue: QueueDefinition): JobsOptions {
    const { attempts, backoffMs } = queue.options;
    return {
      attempts,
      backoff: { type: 'exponential', delay: backoffMs },
      removeOnComplete: { age: this.#options.completedRetentionSec },
      removeOnFail: { age: this.#options.deadRetentionSec },
    };
  }

  async enqueue(queue: QueueDefinition, payload: unknown, options: EnqueueOptions): Promise<string> {
    // A BullMQ job id may not contain `:`: an idempotency key is hashed into one (with its queue).
    const jobId = options.idempotencyKey
      ? `key-${createHash('sha256').update(`${queue.name}\n${options.idempotencyKey}`).digest('hex').slice(0, 40)}`
      : randomUUID();
    const job = await this.#queue(queue.name).add(queue.name, payload ?? null, {
      ...this.#jobOptions(queue),
      jobId,
      ...(options.delayMs ? { delay: options.delayMs } : {}),
    });
    return job.id ?? jobId;
  }

  /** Upserts the job schedulers of `schedules`; removes this module's that are no longer declared. */
  async #syncSchedules(queues: readonly QueueDefinition[], schedules: readonly ScheduleDefinition[]): Promise<void> {
    const declared = new Set(schedules.map((schedule) => `${SCHEDULER}${schedule.name}`));
    for (const queue of queues) {
      const bull = this.#queue(queue.name);
      for (const scheduler of await bull.getJobSchedulers()) {
        const id = scheduler.id ?? scheduler.key;
        if (id.startsWith(SCHEDULER) && !declared.has(id)) await bull.removeJobScheduler(id);
      }
    }
    const byName = new Map(queues.map((queue) => [queue.name, queue]));
    for (const schedule of schedules) {
      const queue = byName.get(schedule.queue)!;
      await this.#queue(schedule.queue).upsertJobScheduler(
        `${SCHEDULER}${schedule.name}`,
        { pattern: schedule.cron, tz: 'UTC' },
        { name: schedule.queue, data: { schedule: schedule.name }, opts: this.#jobOptions(queue) },
      );
    }
  }

  async start(
    queues: readonly QueueDefinition[],
    schedules: readonly ScheduleDefinition[],
    tick: boolean,
  ): Promise<void> {
    if (tick) await this.#syncSchedules(queues, schedules);
    this.#workerConnection ??= this.#connect(null);
    for (const queue of queues) {
      const worker = new Worker(this.#fullName(queue.name), (job, token) => this.#process(queue, job, token), {
        connection: this.#workerConnection,
        prefix: this.#prefix,
        concurrency: queue.options.concurrency,
        lockDuration: this.#options.leaseMs,
        stalledInterval: this.#options.leaseMs,
      });
      worker.on('error', (error) => this.#options.logger.warn({ err: error, queue: queue.name }, 'jobs: worker error'));
      this.#workers.push(worker);
    }
  }

  async #process(queue: QueueDefinition, job: Job, token: string | undefined): Promise<void> {
    const scheduled = job.repeatJobKey?.startsWith(SCHEDULER) === true;
    const payload: unknown = scheduled
      ? ({
          schedule: (job.data as { schedule: string }).schedule,
          tick: new Date(job.opts.prevMillis ?? job.timestamp).toISOString(),
        } satisfies ScheduleRun)
      : job.data;
    if (scheduled) await this.#connection.hset(this.#lastRunsKey(), (payload as ScheduleRun).schedule, Date.now());
    const result = await runTry(
      queue,
      {
        id: job.id!,
        queue: this.#fullName(queue.name),
        payload,
        attempt: job.attemptsMade + 1,
        maxAttempts: job.opts.attempts ?? queue.options.attempts,
        shutdown: this.#shutdown.signal,
      },
      this.#options.logger,
      this.#options.metrics,
      this.#options.errors,
    );
    if (result.outcome === 'completed') return;
    if (result.interrupted) {
      // Shutdown cut the try short: it does not count; the job waits for the next instance.
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    // The last try's failure, or one no retry can mend, is final: BullMQ's failed state is the dead letter.
    if (result.outcome === 'dead') throw new UnrecoverableError(result.error);
    throw new Error(result.error);
  }

  #lastRunsKey(): string {
    return `${this.#prefix}:${this.#options.module}:schedule-last-runs`;
  }

  async stop(timeoutMs: number): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const closing = Promise.all(this.#workers.map((worker) => worker.close()));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    if ((await Promise.race([closing, bound])) === 'timeout') {
      this.#shutdown.abort(new Error('the instance is shutting down'));
      await closing;
    }
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.stop(0);
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#connection.disconnect();
    this.#workerConnection?.disconnect();
  }

  /** The defined queues and those Redis still holds jobs of (a queue no longer declared may hold dead jobs). */
  async #knownQueues(defined: readonly string[]): Promise<string[]> {
    const names = new Set(defined);
    const head = `${this.#prefix}:${this.#options.module}.`;
    let cursor = '0';
    do {
      const [next, keys] = await this.#connection.scan(cursor, 'MATCH', `${head}*:meta`, 'COUNT', 500);
      for (const key of keys) names.add(key.slice(head.length, -':meta'.length));
      cursor = next;
    } while (cursor !== '0');
    return [...names].filter((name) => QUEUE_NAME.test(name)).sort();
  }

  async report(queues: readonly string[]): Promise<JobsReport> {
    const infos: QueueInfo[] = [];
    const dead: JobInfo[] = [];
    const schedules: ScheduleInfo[] = [];
    const lastRuns = await this.#connection.hgetall(this.#lastRunsKey());
    for (const name of await this.#knownQueues(queues)) {
      const queue = this.#queue(name);
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed');
      infos.push({
        queue: this.#fullName(name),
        counts: {
          waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
          delayed: counts.delayed ?? 0,
          active: counts.active ?? 0,
          completed: counts.completed ?? 0,
          dead: counts.failed ?? 0,
        },
      });
      for (const job of await queue.getFailed(0, DEAD_LISTED - 1)) dead.push(this.#jobInfo(name, job, 'dead'));
      for (const scheduler of await queue.getJobSchedulers()) {
        const id = scheduler.id ?? scheduler.key;
        if (!id.startsWith(SCHEDULER)) continue;
        const schedule = id.slice(SCHEDULER.length);
        const last = lastRuns[schedule];
        schedules.push({
          name: `${this.#options.module}.${schedule}`,
          cron: scheduler.pattern ?? '',
          queue: this.#fullName(name),
          lastRunAt: last ? new Date(Number(last)).toISOString() : null,
          nextRunAt: scheduler.next ? new Date(scheduler.next).toISOString() : null,
        });
      }
    }
    dead.sort((a, b) => (b.finishedAt ?? '').localeCompare(a.finishedAt ?? ''));
    schedules.sort((a, b) => a.name.localeCompare(b.name));
    return { backend: 'bullmq', queues: infos, schedules, dead: dead.slice(0, DEAD_LISTED) };
  }

  #jobInfo(queue: string, job: Job, state: JobState): JobInfo {
    return {
      id: job.id!,
      queue: this.#fullName(queue),
      state,
      attempts: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      lastError: job.failedReason ? job.failedReason : null,
      createdAt: new Date(job.timestamp).toISOString(),
      finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    };
  }

  async retry(id: string): Promise<RetryOutcome> {
    for (const name of await this.#knownQueues([...this.#queues.keys()])) {
      const job = await this.#queue(name).getJob(id);
      if (!job) continue;
      if ((await job.getState()) !== 'failed') return 'not-dead';
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return 'retried';
    }
    return 'not-found';
  }

  async waiting(queues: readonly string[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const name of queues) {
      const c = await this.#queue(name).getJobCounts('waiting', 'prioritized', 'delayed');
      counts[name] = Object.values(c).reduce((sum, n) => sum + n, 0);
    }
    return counts;
  }
}
