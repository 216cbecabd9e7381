import type { Logger } from 'pino';
import type { ErrorReporter } from '../error-bus/error-bus.js';
import type { JobMetrics } from './metrics.js';
import type { QueueDefinition, ScheduleDefinition } from './queue.js';
import type { EnqueueOptions, JobsReport } from './types.js';

/** What `retry` found: the dead job is waiting again, there is no such job, or it is not dead. */
export type RetryOutcome = 'retried' | 'not-found' | 'not-dead';

/** What a backend is given to run a module's queues. */
export interface BackendContext {
  /** The module: queues are `<module>.<queue>` outside. */
  module: string;
  logger: Logger;
  metrics: JobMetrics;
  /** Hears each try that failed unexpectedly, and each job that died (the error bus). */
  errors?: ErrorReporter;
}

/** One store of jobs: a module's database, or BullMQ on Redis. */
export interface JobsBackend {
  readonly kind: JobsReport['backend'];
  enqueue(queue: QueueDefinition, payload: unknown, options: EnqueueOptions): Promise<string>;
  /**
   * Starts workers for `queues` and, when `tick`, ticks `schedules` (stored; ones no longer declared
   * removed). Without `tick` the stored schedules are left as they are.
   */
  start(queues: readonly QueueDefinition[], schedules: readonly ScheduleDefinition[], tick: boolean): Promise<void>;
  /** Stops taking jobs; running ones get `timeoutMs` to finish, then are aborted and handed back. */
  stop(timeoutMs: number): Promise<void>;
  report(queues: readonly string[]): Promise<JobsReport>;
  retry(id: string): Promise<RetryOutcome>;
  /** Jobs waiting (due or delayed) per local queue name. */
  waiting(queues: readonly string[]): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** Most dead jobs a report lists. */
export const DEAD_LISTED = 50;
