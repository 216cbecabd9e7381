import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { loadConfig } from '../config/load.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import { openDatabase } from './database.js';
import {
  clusterExists,
  createEmbeddedClusters,
  embeddedDataDir,
  openEmbeddedCluster,
  prepareEmbeddedTemplate,
} from './embedded.js';

const root = mkdtempSync(join(tmpdir(), 'embedded-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('embeddedDataDir', () => {
  it('is one directory per module, and none when a PostgreSQL URL is configured', () => {
    const embedded = loadConfig({ env: { PLATFORM_ENV: 'test' }, overrides: { dataDir: '/data' } });
    expect(embeddedDataDir(embedded, 'blog')).toBe('/data/blog/pgdata');
    expect(embeddedDataDir(embedded, 'identity')).toBe('/data/identity/pgdata');
    const shared = loadConfig({ env: { PLATFORM_ENV: 'test', DATABASE_URL: 'postgres://db/app' } });
    expect(embeddedDataDir(shared, 'blog')).toBeUndefined();
    const own = loadConfig({
      env: { PLATFORM_ENV: 'test' },
      overrides: { services: { blog: { port: 0, databaseUrl: 'postgres://db/blog' } } },
    });
    expect(embeddedDataDir(own, 'blog')).toBeUndefined();
    expect(embeddedDataDir(own, 'identity')).toBeDefined();
  });
});

describe('createEmbeddedClusters', () => {
  it('keeps one initialised template per PGlite version to copy clusters from', async () => {
    const template = await prepareEmbeddedTemplate();
    expect(template).toMatch(/pglite-\d+\.\d+\.\d+$/);
    expect(clusterExists(template)).toBe(true);
    await expect(prepareEmbeddedTemplate()).resolves.toBe(template); // idempotent
  });

  it('creates every missing cluster, each independent, leaving no staging directories behind', async () => {
    const dirs = ['one', 'two', 'three'].map((name) => join(root, 'many', name, 'pgdata'));
    // A second, overlapping call joins the creation under way instead of racing it.
    await Promise.all([createEmbeddedClusters(dirs), createEmbeddedClusters([dirs[1]!])]);
    expect(dirs.map(clusterExists)).toEqual([true, true, true]);
    for (const name of ['one', 'two', 'three']) {
      expect(readdirSync(join(root, 'many', name))).toEqual(['pgdata']);
    }

    const one = await openEmbeddedCluster(dirs[0]!);
    const two = await openEmbeddedCluster(dirs[1]!);
    try {
      await one.pglite.exec('create table only_in_one (id int)');
      const tables = "select count(*)::int as n from pg_tables where tablename = 'only_in_one'";
      expect((await one.pglite.query(tables)).rows).toEqual([{ n: 1 }]);
      expect((await two.pglite.query(tables)).rows).toEqual([{ n: 0 }]);
    } finally {
      await one.close();
      await two.close();
    }
    await expect(createEmbeddedClusters(dirs)).resolves.toBeUndefined(); // nothing left to do
  });

  it('refuses to initialise over a directory that holds something else, and writes nothing', async () => {
    const foreign = join(root, 'foreign');
    mkdirSync(foreign, { recursive: true });
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(createEmbeddedClusters([foreign])).rejects.toThrow('holds no PostgreSQL cluster');
    await expect(openEmbeddedCluster(foreign)).rejects.toThrow('holds no PostgreSQL cluster');
    expect(readdirSync(foreign)).toEqual(['notes.txt']);
    expect(existsSync(`${foreign}.lock`)).toBe(false);
  });
});

describe('openEmbeddedCluster', () => {
  const dataDir = join(root, 'single', 'pgdata');

  it('creates the cluster on first open, locks it while open, and keeps the data', async () => {
    const first = await openEmbeddedCluster(dataDir);
    expect(first.created).toBe(true);
    expect(readFileSync(`${dataDir}.lock`, 'utf8').trim()).toBe(String(process.pid));
    await expect(openEmbeddedCluster(dataDir)).rejects.toThrow('in use by this process already');
    await first.pglite.exec('create table kept (value int); insert into kept values (42)');
    await first.close();
    await first.close(); // idempotent
    expect(existsSync(`${dataDir}.lock`)).toBe(false);

    const again = await openEmbeddedCluster(dataDir);
    try {
      expect(again.created).toBe(false);
      expect((await again.pglite.query('select value from kept')).rows).toEqual([{ value: 42 }]);
    } finally {
      await again.close();
    }
  });

  it('refuses a cluster another live process holds, and takes over a lock its dead owner left', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(`${dataDir}.lock`, `${other.pid}\n`);
      await expect(openEmbeddedCluster(dataDir)).rejects.toThrow(`in use by process ${other.pid}`);
      expect(readFileSync(`${dataDir}.lock`, 'utf8').trim()).toBe(String(other.pid));
    } finally {
      other.kill();
    }
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(`${dataDir}.lock`, `${gone.stdout}\n`);
    const taken = await openEmbeddedCluster(dataDir);
    expect(readFileSync(`${dataDir}.lock`, 'utf8').trim()).toBe(String(process.pid));
    await taken.close();
  });
});

describe('openDatabase on the embedded default', () => {
  it("gives each module its own cluster, with the module's tables in its own schema", async () => {
    const config = loadConfig({ env: { PLATFORM_ENV: 'test' }, overrides: { dataDir: join(root, 'modules') } });
    const open = (module: string) =>
      openDatabase({
        config,
        module,
        entities: [],
        migrations: [],
        logger: pino({ level: 'silent' }),
        metrics: new ServiceMetrics(module),
      });
    const [alpha, beta] = await Promise.all([open('alpha'), open('beta')]);
    try {
      expect([alpha.kind, alpha.schema, beta.schema]).toEqual(['pglite', 'alpha', 'beta']);
      expect(clusterExists(join(root, 'modules', 'alpha', 'pgdata'))).toBe(true);
      expect(clusterExists(join(root, 'modules', 'beta', 'pgdata'))).toBe(true);
      await alpha.fork().execute('create table alpha.item (id int primary key)');
      await alpha.fork().execute('insert into alpha.item values (1)');
      expect(await alpha.fork().execute('select id from alpha.item')).toEqual([{ id: 1 }]);
      await expect(beta.fork().execute('select id from alpha.item')).rejects.toThrow('does not exist');
    } finally {
      await alpha.close();
      await beta.close();
    }
    expect(existsSync(join(root, 'modules', 'alpha', 'pgdata.lock'))).toBe(false);
  });
});
