// Embedded PostgreSQL (PGlite): one cluster per module under `dataDir/<module>/pgdata`.
// Kept free of heavy imports so `npm start` can begin creating clusters before it loads the rest.
import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PGlite, PGliteOptions } from '@electric-sql/pglite';
import type { PlatformConfig } from '../config/schema.js';

/**
 * Where a module's embedded database lives, or `undefined` when the module is configured with a
 * PostgreSQL URL (its own `services.<name>.databaseUrl` or the shared `database.url`).
 */
export function embeddedDataDir(config: PlatformConfig, module: string): string | undefined {
  if (config.services[module]?.databaseUrl ?? config.database.url) return undefined;
  return join(config.dataDir, module, 'pgdata');
}

/** Whether `dataDir` already holds a PostgreSQL cluster. */
export const clusterExists = (dataDir: string): boolean => existsSync(join(dataDir, 'PG_VERSION'));

/** Clusters being created in this process, by data directory. */
const creating = new Map<string, Promise<void>>();

/*
 * Runs in a worker thread so initdb (seconds of WebAssembly CPU) uses the second core while the
 * main thread loads the platform. initdb runs once; the result is copied for every other module,
 * and each cluster is written beside its place and renamed into it, so an interrupted first start
 * never leaves a half-made cluster. Plain CommonJS: workers do not share the main thread's loaders.
 */
const CREATE_CLUSTERS = `
const { parentPort, workerData } = require('node:worker_threads');
const { cpSync, mkdirSync, renameSync, rmSync, rmdirSync, existsSync } = require('node:fs');
const { dirname } = require('node:path');
const { PGlite } = require(workerData.pglite);
const place = (from, to) => {
  mkdirSync(dirname(to), { recursive: true });
  if (existsSync(to)) rmdirSync(to); // empty: checked by the caller
  renameSync(from, to);
  parentPort.postMessage({ ready: to });
};
(async () => {
  const { template, dirs } = workerData;
  rmSync(template, { recursive: true, force: true });
  mkdirSync(template, { recursive: true });
  const pglite = await PGlite.create({ dataDir: template });
  await pglite.close();
  dirs.slice(0, -1).forEach((dir) => {
    const staging = dir + '.init-' + process.pid;
    rmSync(staging, { recursive: true, force: true });
    cpSync(template, staging, { recursive: true });
    place(staging, dir);
  });
  place(template, dirs[dirs.length - 1]);
})().catch((error) => {
  rmSync(workerData.template, { recursive: true, force: true });
  parentPort.postMessage({ error: error && error.stack ? error.stack : String(error) });
});
`;

/**
 * Creates the clusters that do not exist yet (in dependency order: each directory is usable as
 * soon as it is in place) and resolves when all are there. Directories already being created in
 * this process are joined, not created twice. A non-empty directory that is not a cluster is
 * refused rather than overwritten.
 */
export function createEmbeddedClusters(dataDirs: string[]): Promise<void> {
  const pending = [...new Set(dataDirs)].filter((dir) => creating.has(dir) || !clusterExists(dir));
  const fresh = pending.filter((dir) => !creating.has(dir));
  for (const dir of fresh) {
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      return Promise.reject(
        new Error(`${dir} is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away to start afresh`),
      );
    }
  }
  if (fresh.length > 0) {
    const settle = new Map(fresh.map((dir) => [dir, Promise.withResolvers<void>()]));
    for (const [dir, { promise }] of settle) {
      creating.set(dir, promise);
      promise.then(
        () => creating.delete(dir),
        () => creating.delete(dir),
      );
    }
    const worker = new Worker(CREATE_CLUSTERS, {
      eval: true,
      workerData: {
        pglite: createRequire(import.meta.url).resolve('@electric-sql/pglite'),
        template: `${fresh.at(-1)!}.init-${process.pid}-template`,
        dirs: fresh,
      },
    });
    const failAll = (error: Error) => {
      for (const { reject } of settle.values()) reject(error);
    };
    worker.on('message', (message: { ready?: string; error?: string }) => {
      if (message.ready) settle.get(message.ready)?.resolve();
      if (message.error) failAll(new Error(`could not create the embedded database: ${message.error}`));
    });
    worker.on('error', failAll);
    worker.on('exit', () => failAll(new Error('the embedded database creator stopped before finishing')));
  }
  return Promise.all(pending.map((dir) => creating.get(dir) ?? Promise.resolve())).then(() => undefined);
}

/** An open embedded cluster, locked for this process until `close()`. */
export interface EmbeddedCluster {
  readonly pglite: PGlite;
  readonly dataDir: string;
  /** Whether this call created the cluster (its first start). */
  readonly created: boolean;
  close(): Promise<void>;
}

/**
 * Opens the cluster at `dataDir`, creating it first if needed. A lock file keeps a second
 * process out, since two PGlite processes on one directory would corrupt it.
 */
export async function openEmbeddedCluster(
  dataDir: string,
  options: Pick<PGliteOptions, 'parsers'> = {},
): Promise<EmbeddedCluster> {
  const created = creating.has(dataDir) || !clusterExists(dataDir);
  await createEmbeddedClusters([dataDir]);
  lock(dataDir);
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = await PGlite.create({ dataDir, ...options });
    let closing: Promise<void> | undefined;
    return {
      pglite,
      dataDir,
      created,
      close: () =>
        (closing ??= (async () => {
          try {
            if (!pglite.closed) await pglite.close();
          } finally {
            unlock(dataDir);
          }
        })()),
    };
  } catch (error) {
    unlock(dataDir);
    throw error;
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
    if (Number.isInteger(holder) && isAlive(holder)) {
      const who = holder === process.pid ? 'this process already' : `process ${holder}`;
      throw new Error(
        `the embedded database ${dataDir} is in use by ${who}; stop it, or give this process its own DATA_DIR or a DATABASE_URL`,
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
