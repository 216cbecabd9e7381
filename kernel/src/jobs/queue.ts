import { CronExpressionParser } from 'cron-parser';
import type { JobContext, QueueOptions } from './types.js';

/** Runs one job of a queue: throwing fails the try (retried with backoff, then dead). */
export type QueueHandler = (payload: unknown, job: JobContext) => Promise<void>;

/** A queue as the jobs service runs it: its local name (`send-digest`, `kernel-mail`), options filled in. */
export interface QueueDefinition {
  readonly name: string;
  readonly handler: QueueHandler;
  readonly options: Required<QueueOptions>;
}

/** A schedule of `module.yaml`: each tick enqueues one job on `queue` with {@link ScheduleRun} as payload. */
export interface ScheduleDefinition {
  readonly name: string;
  readonly cron: string;
  readonly queue: string;
}

/** The payload of a job a schedule enqueued. */
export interface ScheduleRun {
  schedule: string;
  /** The tick it runs for (ISO, UTC). */
  tick: string;
}

/** Thrown by a handler for a failure no retry can mend (a refused address): the job is dead at once. */
export class PermanentJobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

/** A queue's local name: lower-case letters, digits and dashes (the kernel's own start with `kernel-`). */
export const QUEUE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

export const QUEUE_DEFAULTS: Required<QueueOptions> = {
  concurrency: 1,
  attempts: 5,
  backoffMs: 1000,
  timeoutMs: 60_000,
};

/** The options of a queue, defaults filled in and checked. */
export function queueOptions(name: string, options: QueueOptions = {}): Required<QueueOptions> {
  const filled = { ...QUEUE_DEFAULTS, ...stripUndefined(options) };
  for (const [key, value] of Object.entries(filled)) {
    if (!Number.isInteger(value) || value < (key === 'backoffMs' ? 0 : 1)) {
      throw new Error(`queue "${name}": ${key} must be a positive integer (got ${String(value)})`);
    }
  }
  return filled;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The next tick of a cron expression strictly after `after`, in UTC (six fields allow seconds).
 * Throws cron-parser's message for an invalid expression.
 */
export function nextTick(cron: string, after: Date): Date {
  return CronExpressionParser.parse(cron, { currentDate: after, tz: 'UTC', strict: false }).next().toDate();
}

export { cronProblem } from '../config/schema.js';
