import type { Logger } from 'pino';

/**
 * The contract of `runtime.jobs` (issue 19): durable queues with retries, exponential backoff, a
 * dead-letter state, concurrency per queue and idempotency keys, and cron schedules that run once
 * per deployment however many instances run. BullMQ on Redis when `REDIS_URL` is set; otherwise a
 * queue table in the module's own database (embedded PGlite or PostgreSQL), so no queued job is
 * lost across a restart either way.
 */

/** What a handler is told about the job it runs. */
export interface JobContext {
  readonly id: string;
  /** The queue's full name, `<module>.<queue>` (kernel queues: `<module>.kernel-<name>`). */
  readonly queue: string;
  /** 1 on the first try. */
  readonly attempt: number;
  /** Tries in all before the job is dead. */
  readonly maxAttempts: number;
  /** Aborted when the job runs past its timeout or the instance shuts down. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** How a queue's jobs run. */
export interface QueueOptions {
  /** Jobs of this queue running at once in one instance. Default 1. */
  concurrency?: number;
  /** Tries in all (the first and the retries) before the job is dead-lettered. Default 5. */
  attempts?: number;
  /** The first retry's delay; each next one doubles it (exponential backoff). Default 1000. */
  backoffMs?: number;
  /** A try running longer fails (its signal is aborted). Default 60000. */
  timeoutMs?: number;
}

export interface EnqueueOptions {
  /**
   * A job enqueued again with the key of one that exists (waiting, running, done or dead, within the
   * retention) is not added again: `enqueue` answers the existing job's id.
   */
  idempotencyKey?: string;
  /** Runs no earlier than this many milliseconds from now. */
  delayMs?: number;
}

/** A module's side of the jobs service: `runtime.jobs`. */
export interface ModuleJobs {
  /**
   * Adds a job to one of this module's queues (declared in `defineModule({ jobs })`, or the kernel's
   * own such as mail). Resolves once the job is durably stored; answers its id.
   */
  enqueue<Payload>(queue: string, payload: Payload, options?: EnqueueOptions): Promise<string>;
}

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'dead';

/** One job as `platformctl jobs list` shows it. */
export interface JobInfo {
  id: string;
  queue: string;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** One queue as `platformctl jobs list` shows it. */
export interface QueueInfo {
  queue: string;
  counts: Record<JobState, number>;
}

/** One schedule as `platformctl jobs list` shows it. */
export interface ScheduleInfo {
  /** `<module>.<name>`. */
  name: string;
  cron: string;
  /** The queue its runs are enqueued on. */
  queue: string;
  lastRunAt: string | null;
  nextRunAt: string | null;
}

/** What the jobs service reports of a module (served to `platformctl jobs`). */
export interface JobsReport {
  backend: 'bullmq' | 'database';
  queues: QueueInfo[];
  schedules: ScheduleInfo[];
  /** Dead jobs, newest first (bounded). */
  dead: JobInfo[];
}
