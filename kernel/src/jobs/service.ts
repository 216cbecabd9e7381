import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/schema.js';
import type { ModuleDatabase } from '../database/database.js';
import type { ErrorReporter } from '../error-bus/error-bus.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import type { JobsBackend, RetryOutcome } from './backend.js';
import type { BullJobsOptions } from './bullmq-backend.js';
import { DatabaseJobs } from './database-backend.js';
import { JobMetrics } from './metrics.js';
import { QUEUE_NAME, queueOptions, type QueueDefinition, type QueueHandler, type ScheduleDefinition } from './queue.js';
import type { EnqueueOptions, JobsReport, ModuleJobs, QueueOptions } from './types.js';

export interface JobsServiceOptions {
  module: string;
  platform: PlatformConfig;
  db: ModuleDatabase;
  logger: Logger;
  metrics: ServiceMetrics;
  /** Where unexpected job failures and dead jobs are published (the service's error bus). */
  errors?: ErrorReporter;
  /** The module's schedules (`module.yaml`), each naming a queue defined before `start`. */
  schedules?: readonly ScheduleDefinition[];
  /** False: `start` leaves the stored schedules alone and ticks none (`jobs.runSchedules`). Default true. */
  runSchedules?: boolean;
}

/**
 * A module's jobs service: `runtime.jobs` to the module (enqueue only), and to the kernel the
 * queues' definitions, the workers' start and stop, the report and retries. Queues are defined
 * before workers start: the module's own (`defineModule({ jobs })`) and the kernel's (mail).
 */
export class JobsService implements ModuleJobs {
  readonly #module: string;
  readonly #queues = new Map<string, QueueDefinition>();
  readonly #schedules: readonly ScheduleDefinition[];
  readonly #runSchedules: boolean;
  readonly #backend: JobsBackend;
  readonly #shutdownTimeoutMs: number;
  #started = false;

  constructor(options: JobsServiceOptions) {
    const { module, platform, logger } = options;
    this.#module = module;
    this.#schedules = options.schedules ?? [];
    this.#runSchedules = options.runSchedules ?? true;
    this.#shutdownTimeoutMs = platform.jobs.shutdownTimeoutMs;
    const jobsLogger = logger.child({ component: 'jobs' });
    const metrics = new JobMetrics(options.metrics, async () => {
      const waiting = await this.#backend.waiting([...this.#queues.keys()]);
      return Object.fromEntries(Object.entries(waiting).map(([queue, n]) => [`${module}.${queue}`, n]));
    });
    const context = { module, logger: jobsLogger, metrics, errors: options.errors };
    this.#backend = platform.redis.url
      ? lazyBullJobs({ ...context, ...platform.jobs, url: platform.redis.url, keyPrefix: platform.redis.keyPrefix })
      : new DatabaseJobs({ ...context, ...platform.jobs, db: options.db });
  }

  /** `database` or `bullmq`. */
  get backend(): JobsReport['backend'] {
    return this.#backend.kind;
  }

  /**
   * Defines one of the module's queues (kernel services: `kernel-<name>`), before workers start.
   * Offline runtimes define them too, so they can enqueue.
   */
  defineQueue(name: string, handler: QueueHandler, options?: QueueOptions): void {
    if (!QUEUE_NAME.test(name))
      throw new Error(`${this.#module}: queue name "${name}" must be lower-case letters, digits and dashes`);
    if (this.#queues.has(name)) throw new Error(`${this.#module}: the queue "${name}" is defined twice`);
    if (this.#started) throw new Error(`${this.#module}: the queue "${name}" is defined after the workers started`);
    this.#queues.set(name, { name, handler, options: queueOptions(name, options) });
  }

  async enqueue<Payload>(queue: string, payload: Payload, options: EnqueueOptions = {}): Promise<string> {
    const definition = this.#queues.get(queue);
    if (!definition) {
      throw new Error(`${this.#module}: no queue "${queue}" (declare it in defineModule({ jobs }))`);
    }
    return this.#backend.enqueue(definition, payload, options);
  }

  /** Starts the workers of every defined queue and the schedules (a serving instance, after `onStart`). */
  async start(): Promise<void> {
    for (const schedule of this.#schedules) {
      if (!this.#queues.has(schedule.queue)) {
        throw new Error(
          `${this.#module}: schedule "${schedule.name}" names the handler "${schedule.queue}", which is no queue of the module`,
        );
      }
    }
    this.#started = true;
    await this.#backend.start([...this.#queues.values()], this.#schedules, this.#runSchedules);
  }

  /** Stops the workers: running jobs finish within `jobs.shutdownTimeoutMs`, then are handed back. */
  async stop(): Promise<void> {
    await this.#backend.stop(this.#shutdownTimeoutMs);
  }

  /** The store's report; schedules declared but not yet stored (no instance started since) show no runs. */
  async report(): Promise<JobsReport> {
    const report = await this.#backend.report([...this.#queues.keys()]);
    const stored = new Set(report.schedules.map((schedule) => schedule.name));
    for (const { name, cron, queue } of this.#schedules) {
      const full = `${this.#module}.${name}`;
      if (stored.has(full)) continue;
      report.schedules.push({ name: full, cron, queue: `${this.#module}.${queue}`, lastRunAt: null, nextRunAt: null });
    }
    report.schedules.sort((a, b) => a.name.localeCompare(b.name));
    return report;
  }

  /** Puts a dead job back to waiting (its tries start over). */
  retry(id: string): Promise<RetryOutcome> {
    return this.#backend.retry(id);
  }

  /** Closes the backend's connections (after `stop`). */
  close(): Promise<void> {
    return this.#backend.close();
  }
}

/** The kernel's side of a module's `runtime.jobs`, for kernel services (mail) and the service's wiring. */
export function kernelJobs(jobs: ModuleJobs): JobsService {
  if (!(jobs instanceof JobsService)) throw new Error('not the kernel jobs service');
  return jobs;
}

/**
 * BullMQ, loaded and connected on first use: an instance on the database backend never loads it, and
 * a command-line run that never touches a queue neither loads it nor opens its Redis connections.
 */
function lazyBullJobs(options: BullJobsOptions): JobsBackend {
  let opened: Promise<JobsBackend> | undefined;
  const backend = (): Promise<JobsBackend> =>
    (opened ??= import('./bullmq-backend.js').then(({ BullJobs }) => new BullJobs(options)));
  return {
    kind: 'bullmq',
    enqueue: async (queue, payload, enqueueOptions) => (await backend()).enqueue(queue, payload, enqueueOptions),
    start: async (queues, schedules, tick) => (await backend()).start(queues, schedules, tick),
    stop: async (timeoutMs) => (opened ? (await opened).stop(timeoutMs) : undefined),
    report: async (queues) => (await backend()).report(queues),
    retry: async (id) => (await backend()).retry(id),
    waiting: async (queues) => (await backend()).waiting(queues),
    close: async () => (opened ? (await opened).close() : undefined),
  };
}
