/**
 * Doctor's checks of each module's data: migrations, outbox, queues, and the audit chain. Read from
 * the module's database, or, when its running service holds the embedded database (one process
 * may open it), from that service's internal routes with the service credential.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PlatformConfig } from '@platform/kernel';
import { embeddedDataDir } from '@platform/kernel/boot';
import {
  createLogger,
  DIAGNOSTICS_PATH,
  moduleDiagnostics,
  openDatabase,
  ServiceMetrics,
  withModuleRuntime,
  type ModuleDefinition,
  type ModuleDiagnostics,
} from '@platform/kernel/tools';
import { AUDIT_CHAIN_PATH, type AuditServices, type ChainReport } from '@platform/audit';
import { fail, ok, warn, type Finding } from './doctor-report.js';

/** Outbox events this old, unpublished, mean its relay is not getting them to the bus. */
const OUTBOX_WARN_SEC = 60;
const OUTBOX_FAIL_SEC = 300;
/** A due job, or a schedule's tick, this late means no worker takes the queue. */
const STUCK_SEC = 600;

/** What doctor learned of one module's data, and how. */
export interface ModuleData {
  module: string;
  via: 'database' | 'service';
  migrations: { applied: string[]; pending: string[] };
  /** Absent while migrations are pending (an offline runtime would apply them). */
  diagnostics?: ModuleDiagnostics;
  chain?: ChainReport;
}

/** The module's embedded database was never created (nothing started here yet). */
export class NoDatabaseError extends Error {
  constructor(dir: string) {
    super(`no embedded database yet at ${dir}`);
    this.name = 'NoDatabaseError';
  }
}

const heldByAnother = (error: unknown): boolean => /is in use by/.test((error as Error).message);

/** A config whose offline runtimes log only errors, so the report stays readable. */
const quiet = (config: PlatformConfig): PlatformConfig => ({ ...config, log: { ...config.log, level: 'error' } });

/** Migrations first (read-only), then, when current, the diagnostics (and the chain) from an offline runtime. */
async function fromDatabase(config: PlatformConfig, definition: ModuleDefinition): Promise<ModuleData> {
  const name = definition.manifest.name;
  const db = await openDatabase({
    config,
    module: name,
    entities: definition.entities,
    migrations: definition.migrations,
    logger: createLogger(config, name),
    metrics: new ServiceMetrics(name),
  });
  let migrations: ModuleData['migrations'];
  try {
    const applied = (await db.orm.migrator.getExecuted()).map((row) => row.name);
    migrations = { applied, pending: await db.pendingMigrations() };
  } finally {
    await db.close();
  }
  if (migrations.pending.length > 0) return { module: name, via: 'database', migrations };
  return withModuleRuntime(definition, config, async (runtime, services) => ({
    module: name,
    via: 'database' as const,
    migrations,
    diagnostics: await moduleDiagnostics(runtime as Parameters<typeof moduleDiagnostics>[0]),
    chain: name === 'audit' ? await (services as AuditServices).verify() : undefined,
  }));
}

async function getJson<T>(url: string, headers: Record<string, string>): Promise<T> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as T;
}

/** The module's data, read directly or from its running service. */
export async function moduleData(
  config: PlatformConfig,
  definition: ModuleDefinition,
  serviceOrigin: string,
  headers: Record<string, string>,
): Promise<ModuleData> {
  const name = definition.manifest.name;
  const embedded = embeddedDataDir(config, name);
  if (embedded && !existsSync(join(embedded, 'PG_VERSION'))) throw new NoDatabaseError(embedded);
  try {
    return await fromDatabase(quiet(config), definition);
  } catch (error) {
    if (!embedded || !heldByAnother(error)) throw error;
  }
  const diagnostics = await getJson<ModuleDiagnostics>(`${serviceOrigin}${DIAGNOSTICS_PATH}`, headers);
  const chain =
    name === 'audit' ? await getJson<ChainReport>(`${serviceOrigin}${AUDIT_CHAIN_PATH}`, headers) : undefined;
  return { module: name, via: 'service', migrations: diagnostics.migrations, diagnostics, chain };
}

/** The migrations line of a module. */
export function migrationsFinding(data: ModuleData, config: PlatformConfig): Finding {
  const check = `migrations ${data.module}`;
  const { applied, pending } = data.migrations;
  if (pending.length === 0) return ok(check, `${applied.length} applied, none pending (${data.via})`);
  const restart = config.database.migrateOnStart
    ? ', or restart the platform (database.migrateOnStart applies them)'
    : '';
  const stop = data.via === 'service' ? 'stop the platform, then ' : '';
  return fail(
    check,
    `${data.module} has ${pending.length} pending: ${pending.join(', ')}`,
    `${stop}npm run platformctl -- migrate ${data.module}${restart}`,
  );
}

const age = (seconds: number): string =>
  seconds < 120
    ? `${Math.round(seconds)} s`
    : seconds < 7200
      ? `${Math.round(seconds / 60)} min`
      : `${Math.round(seconds / 3600)} h`;

/** The outbox and queues line of a module: events reaching the bus, jobs being taken, none dead. */
export function queuesFinding(data: ModuleData, config: PlatformConfig, now = Date.now()): Finding {
  const check = `queues ${data.module}`;
  const diagnostics = data.diagnostics;
  if (!diagnostics) return warn(check, 'not checked while migrations are pending', 'apply the migrations first');
  const { outbox, jobs } = diagnostics;
  const outboxAge = outbox.oldestAgeSec ?? 0;
  if (outboxAge > OUTBOX_FAIL_SEC) {
    return fail(
      check,
      `${outbox.unpublished} outbox event(s) unpublished, the oldest for ${age(outboxAge)}`,
      `the relay of ${data.module} is not publishing: is it running, is the bus (Redis) reachable? Its log says why`,
    );
  }
  // Schedules tick only where jobs.runSchedules is on (the test config turns it off).
  const late = config.jobs.runSchedules
    ? jobs.schedules.filter((s) => s.nextRunAt && now - Date.parse(s.nextRunAt) > STUCK_SEC * 1000)
    : [];
  if ((jobs.oldestWaitingAgeSec ?? 0) > STUCK_SEC || late.length > 0) {
    const what =
      late.length > 0
        ? `schedule ${late[0]!.name} is ${age((now - Date.parse(late[0]!.nextRunAt!)) / 1000)} late`
        : `a due job has waited ${age(jobs.oldestWaitingAgeSec!)}`;
    return fail(
      check,
      `${what} (${jobs.backend} backend)`,
      `no worker takes ${data.module}'s queues: is ${data.module} running? npm run platformctl -- jobs list ${data.module}`,
    );
  }
  const dead = jobs.queues.reduce((sum, queue) => sum + queue.counts.dead, 0);
  const waiting = jobs.queues.reduce((sum, queue) => sum + queue.counts.waiting, 0);
  const summary = `outbox ${outbox.unpublished} unpublished, ${waiting} job(s) waiting, ${dead} dead (${jobs.backend})`;
  if (dead > 0) {
    const last = jobs.dead[0];
    return warn(
      check,
      `${summary}${last ? `; last: ${last.queue} ${(last.lastError ?? '').split('\n', 1)[0]!.slice(0, 80)}` : ''}`,
      `npm run platformctl -- jobs list ${data.module}, then jobs retry ${data.module} <id> once the cause is fixed`,
    );
  }
  if (outboxAge > OUTBOX_WARN_SEC) {
    return warn(
      check,
      `${summary}; the oldest event waits ${age(outboxAge)}`,
      'watch it: the relay retries; check the bus (Redis) if it grows',
    );
  }
  return ok(check, summary);
}

/** The audit chain line. */
export function chainFinding(data: ModuleData): Finding {
  const check = 'audit chain';
  const chain = data.chain;
  if (!chain) return warn(check, 'not checked while audit migrations are pending', 'apply the migrations first');
  if (chain.valid) return ok(check, `valid: ${chain.checked} record(s) checked`);
  return fail(
    check,
    `BROKEN (${chain.problem}) after ${chain.checked} record(s): ${chain.reason}`,
    'npm run platformctl -- audit verify shows the first broken record; docs/operations.md: "audit chain broken"',
  );
}
