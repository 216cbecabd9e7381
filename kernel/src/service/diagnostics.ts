import { Router } from 'express';
import type { ModuleRuntime } from '../module/define.js';
import { jobsReport } from '../jobs/operate.js';
import type { JobsReport } from '../jobs/types.js';

/**
 * `GET` a module's {@link ModuleDiagnostics}. Internal (the kernel requires the service credential
 * on `/internal/*`): `platformctl doctor` asks a running service here when it cannot open the
 * module's embedded database itself (one process holds it).
 */
export const DIAGNOSTICS_PATH = '/internal/diagnostics';

/** What `platformctl doctor` checks of a module's data: its migrations, outbox and queues. */
export interface ModuleDiagnostics {
  module: string;
  migrations: { applied: string[]; pending: string[] };
  /** Events recorded but not yet published; the oldest one's age (null when none waits). */
  outbox: { unpublished: number; oldestAgeSec: number | null };
  /** The jobs report, with how long the oldest due job has waited (database backend; null otherwise). */
  jobs: JobsReport & { oldestWaitingAgeSec: number | null };
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Reads a module's diagnostics from its runtime (a serving one, or platformctl's offline one). */
export async function moduleDiagnostics(runtime: ModuleRuntime<unknown>): Promise<ModuleDiagnostics> {
  const { db } = runtime;
  const em = db.fork();
  const schema = quote(db.schema);
  const applied = (await db.orm.migrator.getExecuted()).map((row) => row.name);
  const pending = await db.pendingMigrations();
  const [outbox] = await em.execute<Array<{ n: number; age: number | null }>>(
    `select count(*)::int as n, extract(epoch from now() - min(occurred_at))::float8 as age
     from ${schema}.outbox where published_at is null`,
  );
  const report = await jobsReport(runtime.jobs);
  let oldestWaitingAgeSec: number | null = null;
  if (report.backend === 'database') {
    const [row] = await em.execute<Array<{ age: number | null }>>(
      `select extract(epoch from now() - min(run_at))::float8 as age
       from ${schema}.kernel_job where state = 'waiting' and run_at <= now()`,
    );
    oldestWaitingAgeSec = row?.age ?? null;
  }
  return {
    module: runtime.manifest.name,
    migrations: { applied, pending },
    outbox: { unpublished: outbox?.n ?? 0, oldestAgeSec: outbox?.age ?? null },
    jobs: { ...report, oldestWaitingAgeSec },
  };
}

/** The internal diagnostics route of a subgraph. */
export function diagnosticsRoutes(runtime: ModuleRuntime<unknown>): Router {
  const router = Router();
  router.get(DIAGNOSTICS_PATH, async (_req, res) => {
    res.set('cache-control', 'no-store').json(await moduleDiagnostics(runtime));
  });
  return router;
}
