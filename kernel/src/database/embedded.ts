import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPostgreSqlTypeParsers } from '@mikro-orm/sql';
import { parse as parseArray } from 'postgres-array';
import type { PlatformConfig } from '../config/schema.js';

/**
 * Where the embedded database lives, or `undefined` when the module is configured with a
 * PostgreSQL URL (its own `services.<name>.databaseUrl` or the shared `database.url`).
 *
 * Every module of a process shares one embedded cluster, each in its own schema, exactly as
 * they share one PostgreSQL database through `DATABASE_URL`: `initdb` in WebAssembly costs
 * seconds of CPU and each PGlite instance holds its own copy of Postgres in memory.
 */
export function embeddedDataDir(config: PlatformConfig, module: string): string | undefined {
  if (config.services[module]?.databaseUrl ?? config.database.url) return undefined;
  return join(config.dataDir, 'pgdata');
}

/** Whether `dataDir` already holds a PostgreSQL cluster. */
export const clusterExists = (dataDir: string): boolean => existsSync(join(dataDir, 'PG_VERSION'));

/** One process's use of an embedded cluster; `release()` closes it after its last user. */
export interface EmbeddedPostgres {
  readonly pglite: PGlite;
  readonly dataDir: string;
  /** Whether this process created the cluster (its first start). */
  readonly created: boolean;
  release(): Promise<void>;
}

interface Shared {
  pglite: PGlite;
  created: boolean;
  users: number;
}

const open = new Map<string, Promise<Shared>>();

/**
 * Opens (creating it on first use) the embedded cluster at `dataDir`, shared by every caller in
 * this process. PGlite is single-connection: a transaction locks the instance, so modules sharing
 * it never see each other's open transactions. A lock file keeps a second process out, since two
 * PGlite processes on one directory would corrupt it.
 */
export async function acquireEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  let shared = open.get(dataDir);
  if (!shared) {
    shared = start(dataDir);
    open.set(dataDir, shared);
    shared.catch(() => open.delete(dataDir));
  }
  const instance = await shared;
  instance.users += 1;
  let released = false;
  return {
    pglite: instance.pglite,
    dataDir,
    created: instance.created && instance.users === 1,
    async release() {
      if (released) return;
      released = true;
      instance.users -= 1;
      if (instance.users > 0) return;
      open.delete(dataDir);
      try {
        await instance.pglite.close();
      } finally {
        unlock(dataDir);
      }
    },
  };
}

const parsers = createPostgreSqlTypeParsers((value) => parseArray(value));

async function start(dataDir: string): Promise<Shared> {
  lock(dataDir);
  try {
    const created = !clusterExists(dataDir);
    if (created) await initCluster(dataDir);
    const pglite = await PGlite.create({ dataDir, parsers });
    return { pglite, created, users: 0 };
  } catch (error) {
    unlock(dataDir);
    throw error;
  }
}

/**
 * Runs initdb beside the final place and renames the result into it, so an interrupted first
 * start never leaves a half-made cluster behind. A non-empty directory that is not a cluster is
 * refused rather than overwritten.
 */
async function initCluster(dataDir: string): Promise<void> {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new Error(
      `${dataDir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away to start afresh`,
    );
  }
  const staging = `${dataDir}.init-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    const pglite = await PGlite.create({ dataDir: staging });
    await pglite.close();
    rmSync(dataDir, { recursive: true, force: true }); // absent or empty, checked above
    renameSync(staging, dataDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

const lockFile = (dataDir: string): string => `${dataDir}.lock`;

function lock(dataDir: string): void {
  const file = lockFile(dataDir);
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
    if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
      throw new Error(
        `the embedded database ${dataDir} is in use by process ${holder}; stop it, ` +
          'or give this process its own DATA_DIR or a DATABASE_URL',
      );
    }
    rmSync(file, { force: true }); // left behind by a process that is gone
  }
  throw new Error(`could not lock the embedded database ${dataDir} (${file})`);
}

function unlock(dataDir: string): void {
  try {
    if (Number.parseInt(readFileSync(lockFile(dataDir), 'utf8'), 10) === process.pid) unlinkSync(lockFile(dataDir));
  } catch {
    // already gone
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
