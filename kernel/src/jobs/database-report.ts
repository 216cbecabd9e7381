import type { SqlEntityManager } from '@mikro-orm/sql';
import { DEAD_LISTED } from './backend.js';
import { iso, ms, quoteIdent } from './database-sql.js';
import type { JobInfo, JobState, JobsReport } from './types.js';

interface JobRow {
  id: string;
  queue: string;
  state: 'waiting' | 'active' | 'completed' | 'dead';
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  created_ms: number;
  finished_ms: number | null;
}

/** The database backend's report: counts by queue and state (due or delayed), schedules, the newest dead jobs. */
export async function databaseReport(
  em: SqlEntityManager,
  schema: string,
  module: string,
  queues: readonly string[],
): Promise<JobsReport> {
  const job = `${quoteIdent(schema)}.kernel_job`;
  const schedule = `${quoteIdent(schema)}.kernel_job_schedule`;
  const counts = await em.execute<Array<{ queue: string; state: JobState; n: number }>>(
    `select queue, case when state = 'waiting' and run_at > now() then 'delayed' else state end as state,
       count(*)::int as n from ${job} group by 1, 2`,
  );
  const names = [...new Set([...queues, ...counts.map((row) => row.queue)])].sort();
  const schedules = await em.execute<
    Array<{ name: string; cron: string; queue: string; last_ms: number | null; next_ms: number | null }>
  >(
    `select name, cron, queue, ${ms('last_run_at')} as last_ms, ${ms('next_run_at')} as next_ms
     from ${schedule} order by name`,
  );
  const dead = await em.execute<JobRow[]>(
    `select id, queue, state, attempts, max_attempts, last_error, ${ms('created_at')} as created_ms,
       ${ms('finished_at')} as finished_ms
     from ${job} where state = 'dead' order by finished_at desc limit ${DEAD_LISTED}`,
  );
  return {
    backend: 'database',
    queues: names.map((queue) => ({
      queue: `${module}.${queue}`,
      counts: Object.fromEntries(
        (['waiting', 'delayed', 'active', 'completed', 'dead'] as const).map((state) => [
          state,
          counts.find((row) => row.queue === queue && row.state === state)?.n ?? 0,
        ]),
      ) as Record<JobState, number>,
    })),
    schedules: schedules.map((row) => ({
      name: `${module}.${row.name}`,
      cron: row.cron,
      queue: `${module}.${row.queue}`,
      lastRunAt: iso(row.last_ms),
      nextRunAt: iso(row.next_ms),
    })),
    dead: dead.map((row) => jobInfo(module, row)),
  };
}

function jobInfo(module: string, row: JobRow): JobInfo {
  return {
    id: row.id,
    queue: `${module}.${row.queue}`,
    state: row.state,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    lastError: row.last_error,
    createdAt: iso(row.created_ms)!,
    finishedAt: iso(row.finished_ms),
  };
}
