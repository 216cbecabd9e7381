import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { PlatformConfig } from '../../config/schema.js';
import { openDatabase, type ModuleDatabase } from '../../database/database.js';
import { ServiceMetrics } from '../../metrics/metrics.js';
import { deleteRedisKeys, dropTestSchema, testConfig } from '../../testing/index.js';
import type { ScheduleDefinition } from '../queue.js';
import { JobsService } from '../service.js';

export { waitFor, eventually } from '../../testing/index.js';

export const silent = pino({ level: 'silent' });

/** The backends a suite runs against: the database always, BullMQ when `REDIS_URL` is set. */
export function backendKinds(): Array<{ kind: 'database' | 'bullmq' }> {
  return process.env.REDIS_URL ? [{ kind: 'database' }, { kind: 'bullmq' }] : [{ kind: 'database' }];
}

/**
 * Instances of one module sharing its job store, like the processes of one deployment: a private
 * database (embedded, or a private schema on PostgreSQL), and for BullMQ a private key prefix.
 */
export interface JobsFleet {
  readonly config: PlatformConfig;
  readonly db: ModuleDatabase;
  /** A new instance (not started); `metrics` to read its registry. */
  instance(options?: { schedules?: ScheduleDefinition[]; metrics?: ServiceMetrics }): JobsService;
  /** Stops every instance and empties the store (between tests). */
  reset(): Promise<void>;
  /** Closes the database and opens it again (a restart of the embedded database's only process). */
  reopen(): Promise<void>;
  cleanup(): Promise<void>;
}

export const MODULE = 'jobs-test';

export async function openFleet(
  kind: 'database' | 'bullmq',
  jobs: Partial<PlatformConfig['jobs']> = {},
): Promise<JobsFleet> {
  const { config, cleanup } = testConfig({
    services: { [MODULE]: { port: 0, dbSchema: `t_${randomBytes(4).toString('hex')}_jobs` } },
    jobs: { pollIntervalMs: 50, leaseMs: 3000, shutdownTimeoutMs: 300, ...jobs },
    ...(kind === 'database' ? { redis: { url: null } } : {}),
  });
  if (kind === 'bullmq' && !config.redis.url) throw new Error('the BullMQ suites need REDIS_URL');
  const open = async (): Promise<ModuleDatabase> => {
    const opened = await openDatabase({
      config,
      module: MODULE,
      entities: [],
      migrations: [],
      logger: silent,
      metrics: new ServiceMetrics(MODULE),
    });
    await opened.migrate();
    return opened;
  };
  let db = await open();
  const instances: JobsService[] = [];
  return {
    config,
    get db() {
      return db;
    },
    instance(options = {}) {
      const service = new JobsService({
        module: MODULE,
        platform: config,
        db,
        logger: silent,
        metrics: options.metrics ?? new ServiceMetrics(MODULE),
        schedules: options.schedules,
      });
      instances.push(service);
      return service;
    },
    async reset() {
      await Promise.all(instances.splice(0).map((instance) => instance.stop().then(() => instance.close())));
      await db.fork().execute(`delete from "${db.schema}".kernel_job`);
      await db.fork().execute(`delete from "${db.schema}".kernel_job_schedule`);
      if (kind === 'bullmq') await deleteRedisKeys(config.redis.url!, `${config.redis.keyPrefix}:*`);
    },
    async reopen() {
      await Promise.all(instances.splice(0).map((instance) => instance.stop().then(() => instance.close())));
      if (kind === 'bullmq') return; // the jobs are in Redis
      await db.close();
      db = await open();
    },
    async cleanup() {
      await Promise.all(instances.splice(0).map((instance) => instance.stop().then(() => instance.close())));
      try {
        await dropTestSchema(db);
      } finally {
        await db.close();
        await cleanup();
      }
    },
  };
}
