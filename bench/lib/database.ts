// A scratch PostgreSQL database for a benchmark run, dropped at the end.
import pg from 'pg';

export interface Database {
  url: string;
  /** PIDs of the PostgreSQL backends serving the benchmark's database (their CPU is the database's). */
  backends(): Promise<number[]>;
  drop(): Promise<void>;
}

/**
 * A fresh database `<prefix>_<runId>` on the server of `url` (dropped at the end), or `url`
 * itself if it cannot be created.
 */
export async function scratchDatabase(url: string, runId: string, prefix = 'bench_login'): Promise<Database> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  let name = `${prefix}_${runId}`;
  let scratch: string;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const parsed = new URL(url);
    parsed.pathname = `/${name}`;
    scratch = parsed.toString();
  } catch (error) {
    console.warn(`could not create a scratch database (${(error as Error).message}); using ${redact(url)} as is`);
    name = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    scratch = url;
  }
  return {
    url: scratch,
    backends: async () =>
      (
        await admin.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        )
      ).rows.map((row) => row.pid),
    drop: async () => {
      try {
        if (scratch !== url) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
