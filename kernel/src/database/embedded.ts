// Embedded PostgreSQL (PGlite): one cluster per module under `dataDir/<module>/pgdata`.
// Kept free of heavy imports so `npm start` can begin creating clusters before it loads the rest.
import {
  accessSync,
  constants,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
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
 * main thread loads the platform. initdb runs once per PGlite version: its result is kept as a
 * template under node_modules/.cache (made by `npm install`, or by the first start) and copied
 * for every module. Every directory is written beside its place and renamed into it, so an
 * interrupted run never leaves a half-made cluster. Plain CommonJS: workers do not share the main
 * thread's module loaders.
 */
const CREATE_CLUSTERS = `
const { parentPort, workerData } = require('node:worker_threads');
const { cpSync, existsSync, mkdirSync, renameSync, rmSync, rmdirSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { PGlite } = require(workerData.pglite);
const staging = (dir) => dir + '.init-' + process.pid;
(async () => {
  const { template, dirs } = workerData;
  if (!existsSync(join(template, 'PG_VERSION'))) {
    const fresh = staging(template);
    rmSync(fresh, { recursive: true, force: true });
    mkdirSync(fresh, { recursive: true });
    try {
      const pglite = await PGlite.create({ dataDir: fresh });
      await pglite.close();
      rmSync(template, { recursive: true, force: true });
      renameSync(fresh, template);
    } catch (error) {
      if (!existsSync(join(template, 'PG_VERSION'))) throw error; // else another process made it
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  }
  for (const dir of dirs) {
    const copy = staging(dir);
    rmSync(copy, { recursive: true, force: true });
    cpSync(template, copy, { recursive: true });
    mkdirSync(dirname(dir), { recursive: true });
    if (existsSync(dir)) rmdirSync(dir); // empty: checked by the caller
    renameSync(copy, dir);
    parentPort.postMessage({ ready: dir });
  }
  parentPort.postMessage({ done: true });
})().catch((error) => {
  for (const dir of workerData.dirs) rmSync(staging(dir), { recursive: true, force: true });
  parentPort.postMessage({ error: error && error.stack ? error.stack : String(error) });
});
`;

/** Where PGlite is installed, and the template cluster for its version. */
function pgliteInstall(): { entry: string; template: string } {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const marker = `${sep}node_modules${sep}`;
  const nodeModules = entry.slice(0, entry.lastIndexOf(marker) + marker.length - 1);
  const { version } = JSON.parse(
    readFileSync(join(nodeModules, '@electric-sql', 'pglite', 'package.json'), 'utf8'),
  ) as { version: string };
  // node_modules may be read-only (a container image): the system's temporary directory then.
  const template = [join(nodeModules, '.cache', 'platform'), join(tmpdir(), 'platform')].find(writable)!;
  return { entry, template: join(template, `pglite-${version}`) };
}

/** Whether `dir` exists and is writable, or could be created. */
function writable(dir: string): boolean {
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  try {
    accessSync(existing, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs the cluster worker; `onReady` hears of each directory as soon as it is in place. */
function runClusterWorker(dirs: string[], onReady: (dir: string) => void): Promise<void> {
  const { entry, template } = pgliteInstall();
  return new Promise<void>((resolve, reject) => {
    const worker = new Worker(CREATE_CLUSTERS, { eval: true, workerData: { pglite: entry, template, dirs } });
    worker.on('message', (message: { ready?: string; done?: boolean; error?: string }) => {
      if (message.ready) onReady(message.ready);
      if (message.done) resolve();
      if (message.error) reject(new Error(`could not create the embedded database: ${message.error}`));
    });
    worker.on('error', reject);
    worker.on('exit', () => reject(new Error('the embedded database creator stopped before finishing')));
  });
}

/**
 * Makes the template cluster that new module databases are copied from (`npm install` runs
 * this, so the first `npm start` need not run initdb). Returns its directory.
 */
export async function prepareEmbeddedTemplate(): Promise<string> {
  await runClusterWorker([], () => {});
  return pgliteInstall().template;
}

/**
 * Creates the clusters that do not exist yet (in the order given: each directory is usable as
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
    runClusterWorker(fresh, (dir) => settle.get(dir)?.resolve()).catch((error: Error) => {
      for (const { reject } of settle.values()) reject(error); // no effect on those in place
    });
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
