import type { PlatformConfig } from '@platform/kernel';
import {
  JOBS_PATH,
  jobsReport,
  loadConfig,
  retryJob,
  withModuleRuntime,
  type JobsReport,
  type ModuleDefinition,
  type RetryOutcome,
} from '@platform/kernel/tools';
import { serviceCredential, SERVICE_CREDENTIAL_HEADER, serviceSecret } from '@platform/kernel/gateway';
import { loadDefinition, scanModules, type DiscoveredModule } from '../modules.js';
import { table } from '../table.js';
import { UsageError } from '../usage.js';

type Env = Record<string, string | undefined>;

/**
 * Runs `direct` on a module's runtime (its database, or BullMQ's Redis). The embedded database
 * admits one process: when the module's running service holds it, `remote` asks that service over
 * its internal jobs route instead (with the service credential).
 */
async function onModule<T>(
  config: PlatformConfig,
  definition: ModuleDefinition,
  direct: (jobs: Parameters<typeof jobsReport>[0]) => Promise<T>,
  remote: (url: (path: string) => string, headers: Record<string, string>) => Promise<T>,
): Promise<T> {
  try {
    return await withModuleRuntime(definition, config, (runtime) => direct(runtime.jobs));
  } catch (error) {
    if (config.database.url || !/is in use by/.test((error as Error).message)) throw error;
  }
  const name = definition.manifest.name;
  const service = config.services[name];
  const base = service?.url ?? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${service?.port ?? 0}`;
  const headers = { [SERVICE_CREDENTIAL_HEADER]: serviceCredential(serviceSecret(config)) };
  return remote((path) => new URL(path, base).toString(), headers);
}

/** The modules named (all with an entry point when none is), or a usage error naming the unknown ones. */
function selectModules(root: string, names: string[]): DiscoveredModule[] {
  const modules = scanModules(root).modules.filter((module) => module.hasEntry);
  const unknown = names.filter((name) => !modules.some((module) => module.manifest.name === name));
  if (unknown.length > 0) {
    const known = modules.map((module) => module.manifest.name).join(', ') || 'none';
    throw new UsageError(`unknown module(s): ${unknown.join(', ')} (known: ${known})`);
  }
  return names.length === 0 ? modules : modules.filter((module) => names.includes(module.manifest.name));
}

const when = (value: string | null): string => (value === null ? '-' : value.replace(/\.\d{3}Z$/, 'Z'));

function printReport(name: string, report: JobsReport): void {
  console.log(`${name} (${report.backend})`);
  const queues = report.queues.map(({ queue, counts }) => [
    queue,
    ...[counts.waiting, counts.delayed, counts.active, counts.completed, counts.dead].map(String),
  ]);
  console.log(
    indent(queues.length ? table(['queue', 'waiting', 'delayed', 'active', 'completed', 'dead'], queues) : 'no queues'),
  );
  if (report.schedules.length > 0) {
    const rows = report.schedules.map((s) => [s.name, s.cron, s.queue, when(s.lastRunAt), when(s.nextRunAt)]);
    console.log(indent(table(['schedule', 'cron', 'queue', 'last run', 'next run'], rows)));
  }
  if (report.dead.length > 0) {
    const rows = report.dead.map((job) => [
      job.id,
      job.queue,
      `${job.attempts}/${job.maxAttempts}`,
      when(job.finishedAt),
      (job.lastError ?? '-').split('\n', 1)[0]!.slice(0, 120),
    ]);
    console.log(indent(table(['dead job', 'queue', 'tries', 'failed at', 'last error'], rows)));
  }
}

const indent = (text: string): string =>
  text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');

async function answer<T>(response: Response, service: string): Promise<T> {
  const body = (await response.json()) as T;
  if (!response.ok) throw new Error(`${service} answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

/**
 * `jobs list [module...]`: each module's job backend, queues with their counts, schedules with
 * their last and next run, and dead jobs with their last error (`--json`: the reports by module).
 */
export async function jobsList(root: string, env: Env, names: string[], options: { json?: boolean }): Promise<number> {
  const modules = selectModules(root, names);
  const config = loadConfig({ env, cwd: root });
  const reports: Record<string, JobsReport> = {};
  let failed = 0;
  for (const module of modules) {
    const name = module.manifest.name;
    try {
      const definition = await loadDefinition(module);
      reports[name] = await onModule(config, definition, jobsReport, async (url, headers) =>
        answer<JobsReport>(await fetch(url(JOBS_PATH), { headers }), name),
      );
      if (!options.json) printReport(name, reports[name]);
    } catch (error) {
      failed += 1;
      console.error(`${name}: could not read its jobs: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (options.json) console.log(JSON.stringify(reports, null, 2));
  return failed > 0 ? 1 : 0;
}

/** `jobs retry <module> <id>`: a dead job waits again, its tries start over. */
export async function jobsRetry(root: string, env: Env, name: string, id: string): Promise<number> {
  const [module] = selectModules(root, [name]);
  const config = loadConfig({ env, cwd: root });
  const definition = await loadDefinition(module!);
  const outcome = await onModule<RetryOutcome>(
    config,
    definition,
    (jobs) => retryJob(jobs, id),
    async (url, headers) => {
      const response = await fetch(url(`${JOBS_PATH}/${encodeURIComponent(id)}/retry`), { method: 'POST', headers });
      if (response.status === 404) return 'not-found';
      if (response.status === 409) return 'not-dead';
      await answer(response, name);
      return 'retried';
    },
  );
  if (outcome === 'retried') {
    console.log(`${name}: job ${id} is waiting again (its tries start over)`);
    return 0;
  }
  console.error(
    outcome === 'not-found' ? `platformctl: ${name} has no job ${id}` : `platformctl: job ${id} of ${name} is not dead`,
  );
  return 1;
}
