import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { byteSize, url } from './primitives.js';

// The config sections of the platform services every module gets: jobs, cache and files.

/** Why `cron` (UTC; five fields, or six with seconds first) is not a cron expression, or undefined. */
export function cronProblem(cron: string): string | undefined {
  try {
    CronExpressionParser.parse(cron, { tz: 'UTC', strict: false });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * Each module's cache (`runtime.cache`): in process memory without Redis; with `redis.url`, a
 * process-local level in front of Redis, invalidated on every instance through Redis pub/sub.
 */
export const cacheSchema = z
  .object({
    /** Seconds an entry is served when its writer names no TTL. */
    defaultTtlSec: z.number().int().positive().default(300),
    /** Entries one module keeps in process memory; the least recently used go first. */
    l1MaxItems: z.number().int().positive().default(10_000),
    /** Bytes (of JSON) one module keeps in process memory, in bytes or with a unit (`32mb`). */
    l1MaxSize: byteSize.default('32mb'),
  })
  .strict()
  .default({ defaultTtlSec: 300, l1MaxItems: 10_000, l1MaxSize: '32mb' });

/**
 * Background jobs and schedules (`runtime.jobs`): BullMQ on Redis when `redis.url` is set,
 * else a queue table in each module's own database.
 */
export const jobsSchema = z
  .object({
    /** Database backend: how often an idle instance looks for due jobs and schedule ticks. */
    pollIntervalMs: z.number().int().min(10).max(60_000).default(1000),
    /** A running job's claim (BullMQ: its lock), renewed while it runs; an instance that died lets its jobs run again after it. */
    leaseMs: z.number().int().min(100).default(30_000),
    /** Completed jobs are kept this long (an idempotency key stays taken as long). */
    completedRetentionSec: z
      .number()
      .int()
      .min(1)
      .default(24 * 3600),
    /** Dead jobs (every try failed) are kept this long, listed by `platformctl jobs list` and retryable. */
    deadRetentionSec: z
      .number()
      .int()
      .min(1)
      .default(14 * 24 * 3600),
    /** At shutdown, how long running jobs may take to finish before they are aborted and handed back. */
    shutdownTimeoutMs: z.number().int().min(0).default(10_000),
    /**
     * Whether this instance ticks the schedules of module.yaml (the stored schedules are left as
     * they are when not): false in tests, which enqueue a schedule's job themselves.
     */
    runSchedules: z.boolean().default(true),
    /**
     * Per schedule, `<module>.<name>` (as `platformctl jobs list` shows it): another cron, or
     * `enabled: false` to stop it for the deployment. Every instance must agree.
     */
    schedules: z
      .record(
        z.string().regex(/^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]{0,62}$/, 'a schedule: <module>.<name>'),
        z
          .object({
            cron: z
              .string()
              .refine(
                (cron) => cronProblem(cron) === undefined,
                'must be a cron expression (five fields, or six with seconds)',
              )
              .optional(),
            enabled: z.boolean().default(true),
          })
          .strict(),
      )
      .default({}),
  })
  .strict()
  .default({
    pollIntervalMs: 1000,
    leaseMs: 30_000,
    completedRetentionSec: 24 * 3600,
    deadRetentionSec: 14 * 24 * 3600,
    shutdownTimeoutMs: 10_000,
    runSchedules: true,
    schedules: {},
  });

/**
 * Where modules' files live (`runtime.files`): the local file system under `dataDir/files/<module>`
 * (signed URLs served on the gateway's origin, `/files/<module>/…`), or an S3-compatible bucket
 * (presigned URLs; each module's objects under the key prefix `<module>/`).
 */
export const filesSchema = z
  .object({
    driver: z.enum(['local', 's3']),
    /**
     * Local storage: the origin clients reach the gateway on, for absolute signed URLs
     * (`https://api.example.com`). Null: URLs are paths (`/files/…`) on whatever origin the
     * client called the gateway at.
     */
    publicUrl: url.nullable(),
    /** Lifetime of an upload URL (the client must start sending within it). */
    uploadUrlTtlSec: z.number().int().min(1).max(3600),
    /** Lifetime of a download URL. */
    downloadUrlTtlSec: z.number().int().min(1).max(604_800),
    /** Largest object a module may ask an upload URL for (each module may ask less). */
    maxUploadBytes: byteSize,
    s3: z
      .object({
        /** An S3-compatible endpoint (MinIO, s3rver, R2); null: AWS's own for `region`. */
        endpoint: url.nullable(),
        region: z.string().min(1),
        bucket: z.string().nullable(),
        /** `S3_ACCESS_KEY_ID(_FILE)`. */
        accessKeyId: z.string().nullable(),
        /** `S3_SECRET_ACCESS_KEY(_FILE)`: a secret, refused in production when a development default. */
        secretAccessKey: z.string().nullable(),
        /** `endpoint/bucket/key` instead of `bucket.endpoint/key` (most S3-compatible servers). */
        forcePathStyle: z.boolean(),
      })
      .strict(),
  })
  .strict()
  .superRefine((files, ctx) => {
    if (files.driver !== 's3') return;
    for (const key of ['bucket', 'accessKeyId', 'secretAccessKey'] as const) {
      if (!files.s3[key]) ctx.addIssue({ code: 'custom', path: ['s3', key], message: 'required when driver is s3' });
    }
  });

/** What a config without a `files` section gets (config/default.yaml says the same). */
export const FILES_DEFAULTS = {
  driver: 'local' as const,
  publicUrl: null,
  uploadUrlTtlSec: 600,
  downloadUrlTtlSec: 3600,
  maxUploadBytes: '10mb',
  s3: {
    endpoint: null,
    region: 'us-east-1',
    bucket: null,
    accessKeyId: null,
    secretAccessKey: null,
    forcePathStyle: true,
  },
};

export type FilesConfig = z.infer<typeof filesSchema>;
