import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { KERNEL_TOPIC_PREFIX } from '../events/kernel-topics.js';
import { cronProblem } from '../jobs/queue.js';

/** `module.resource.action`: lower-case segments, letters/digits/dashes, exactly three. */
export const PERMISSION_NAME = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*$/;
/** Event names are `module.resource.verb`, lower-case; the verb may contain `_` (`email_verified`). */
export const EVENT_NAME = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.[a-z][a-z0-9_]*$/;
export const MODULE_NAME = /^[a-z][a-z0-9-]*$/;
/** Schedule names, like queue names: lower-case letters, digits and dashes. */
export const SCHEDULE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

const semverVersion = z.string().refine((v) => semver.valid(v) !== null, 'must be a semver version like 1.2.3');
const semverRange = z.string().refine((r) => semver.validRange(r) !== null, 'must be a semver range like ^1.2.0');

export const manifestSchema = z
  .object({
    name: z
      .string()
      .regex(MODULE_NAME, 'must be lower-case letters, digits and dashes, starting with a letter')
      // Topics starting with `kernel.` are the kernel's own, recorded for every module.
      .refine(
        (name) => name !== KERNEL_TOPIC_PREFIX,
        `"${KERNEL_TOPIC_PREFIX}" is reserved for the kernel's own events`,
      ),
    version: semverVersion,
    description: z.string().optional(),
    kernel: semverRange,
    dependencies: z.record(z.string().regex(MODULE_NAME, 'must be a module name'), semverRange).default({}),
    permissions: z
      .array(
        z
          .object({
            name: z.string().regex(PERMISSION_NAME, 'must be module.resource.action (lower-case)'),
            description: z.string().min(1, 'must describe what the permission allows'),
            /**
             * Anonymous callers may be given it: the guest role's default allow-list is every
             * permission marked public (authz's `modules.authz.guestAllowList` replaces it).
             * Only read permissions can be public.
             */
            public: z.boolean().optional(),
          })
          .strict(),
      )
      .default([]),
    events: z
      .object({
        publishes: z.array(z.string().regex(EVENT_NAME, 'must be module.resource.verb')).default([]),
        consumes: z.array(z.string().regex(EVENT_NAME, 'must be module.resource.verb')).default([]),
      })
      .strict()
      .default({ publishes: [], consumes: [] }),
    /**
     * Cron schedules (UTC; five fields, or six with seconds first): each tick enqueues one job on the
     * queue `handler` names (a key of `defineModule({ jobs })`), once per deployment.
     */
    schedules: z
      .array(
        z
          .object({
            name: z.string().regex(SCHEDULE_NAME, 'must be lower-case letters, digits and dashes'),
            cron: z.string().superRefine((cron, ctx) => {
              const problem = cronProblem(cron);
              if (problem) ctx.addIssue({ code: 'custom', message: `"${cron}" is not a cron expression: ${problem}` });
            }),
            handler: z.string().min(1),
            description: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()
  .superRefine((manifest, ctx) => {
    const seen = new Set<string>();
    manifest.permissions.forEach((permission, index) => {
      if (!permission.name.startsWith(`${manifest.name}.`)) {
        ctx.addIssue({
          code: 'custom',
          path: ['permissions', index, 'name'],
          message: `"${permission.name}" must start with the module name "${manifest.name}."`,
        });
      }
      if (seen.has(permission.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['permissions', index, 'name'],
          message: `"${permission.name}" is declared twice`,
        });
      }
      seen.add(permission.name);
      if (permission.public === true && permission.name.split('.')[2] !== 'read') {
        ctx.addIssue({
          code: 'custom',
          path: ['permissions', index, 'public'],
          message: `"${permission.name}" cannot be public: only read permissions can (an operator may still allow it to anonymous callers in modules.authz.guestAllowList)`,
        });
      }
    });
    manifest.events.publishes.forEach((event, index) => {
      if (!event.startsWith(`${manifest.name}.`)) {
        ctx.addIssue({
          code: 'custom',
          path: ['events', 'publishes', index],
          message: `"${event}" must start with the module name "${manifest.name}."`,
        });
      }
    });
    const schedules = new Set<string>();
    manifest.schedules.forEach((schedule, index) => {
      if (schedules.has(schedule.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['schedules', index, 'name'],
          message: `"${schedule.name}" is declared twice`,
        });
      }
      schedules.add(schedule.name);
    });
    if (manifest.name in manifest.dependencies) {
      ctx.addIssue({
        code: 'custom',
        path: ['dependencies', manifest.name],
        message: 'a module cannot depend on itself',
      });
    }
  });

/** A validated `module.yaml`. */
export type Manifest = z.infer<typeof manifestSchema>;

/** Raised for an invalid manifest; names the file and every problem. */
export class ManifestError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`Invalid module manifest ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ManifestError';
  }
}

/** Validates a parsed manifest; `source` names it in errors (a file path or module name). */
export function parseManifest(data: unknown, source: string): Manifest {
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    throw new ManifestError(
      source,
      parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`),
    );
  }
  return parsed.data;
}

/** Reads and validates a `module.yaml`. */
export function loadManifest(file: string | URL): Manifest {
  const path = file instanceof URL ? fileURLToPath(file) : file;
  let data: unknown;
  try {
    data = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ManifestError(path, [(error as Error).message]);
  }
  return parseManifest(data, path);
}
