import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { loadConfig } from '../config/load.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import { openDatabase } from './database.js';
import { acquireEmbeddedPostgres, embeddedDataDir } from './embedded.js';

const root = mkdtempSync(join(tmpdir(), 'embedded-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('embeddedDataDir', () => {
  it('is one cluster per data directory, and none when a PostgreSQL URL is configured', () => {
    const embedded = loadConfig({ env: { PLATFORM_ENV: 'test' }, overrides: { dataDir: '/data' } });
    expect(embeddedDataDir(embedded, 'blog')).toBe('/data/pgdata');
    expect(embeddedDataDir(embedded, 'identity')).toBe('/data/pgdata');
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

describe('acquireEmbeddedPostgres', () => {
  const dataDir = join(root, 'shared', 'pgdata');

  it('creates the cluster once, shares it in the process and closes it after the last release', async () => {
    const first = await acquireEmbeddedPostgres(dataDir);
    const second = await acquireEmbeddedPostgres(dataDir);
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.pglite).toBe(first.pglite);
    expect(readFileSync(`${dataDir}.lock`, 'utf8').trim()).toBe(String(process.pid));

    await first.pglite.exec('create table kept (value int); insert into kept values (42)');
    await first.release();
    await first.release(); // idempotent: must not close the cluster under `second`
    expect(first.pglite.closed).toBe(false);
    await second.release();
    expect(first.pglite.closed).toBe(true);
    expect(existsSync(`${dataDir}.lock`)).toBe(false);

    const again = await acquireEmbeddedPostgres(dataDir);
    try {
      expect(again.created).toBe(false);
      expect((await again.pglite.query('select value from kept')).rows).toEqual([{ value: 42 }]);
    } finally {
      await again.release();
    }
  });

  it('refuses a cluster another live process holds, and takes over a lock its dead owner left', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(`${dataDir}.lock`, `${other.pid}\n`);
      await expect(acquireEmbeddedPostgres(dataDir)).rejects.toThrow(`is in use by process ${other.pid}`);
    } finally {
      other.kill();
    }
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(`${dataDir}.lock`, `${gone.stdout}\n`);
    const taken = await acquireEmbeddedPostgres(dataDir);
    expect(readFileSync(`${dataDir}.lock`, 'utf8').trim()).toBe(String(process.pid));
    await taken.release();
  });

  it('refuses to initialise over a directory that holds something else', async () => {
    const foreign = join(root, 'foreign');
    mkdirSync(foreign, { recursive: true });
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(acquireEmbeddedPostgres(foreign)).rejects.toThrow('holds no PostgreSQL cluster');
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
    expect(existsSync(`${foreign}.lock`)).toBe(false);
  });
});

describe('modules sharing the embedded cluster', () => {
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
  let a: Awaited<ReturnType<typeof open>>;
  let b: Awaited<ReturnType<typeof open>>;

  beforeAll(async () => {
    a = await open('alpha');
    b = await open('beta');
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('keeps each module in its own schema', async () => {
    expect([a.kind, a.schema, b.schema]).toEqual(['pglite', 'alpha', 'beta']);
    await a.fork().execute('create table alpha.item (id int primary key)');
    await b.fork().execute('create table beta.item (id int primary key)');
    await a.fork().execute('insert into alpha.item values (1)');
    expect(await b.fork().execute('select count(*)::int as n from beta.item')).toEqual([{ n: 0 }]);
  });

  it("never lets one module's open transaction leak into another module's queries", async () => {
    let insideTransaction!: () => void;
    const entered = new Promise<void>((resolve) => (insideTransaction = resolve));
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));

    const transaction = a.fork().transactional(async (em) => {
      await em.execute('insert into alpha.item values (2)');
      insideTransaction();
      await committed;
      throw new Error('roll back');
    });
    await entered;
    // beta's write waits for alpha's transaction instead of running inside it …
    const write = b.fork().execute('insert into beta.item values (7)');
    commit();
    await expect(transaction).rejects.toThrow('roll back');
    await write;
    // … so alpha's rollback undid only alpha's row, and beta's write survived.
    expect(await a.fork().execute('select id from alpha.item order by id')).toEqual([{ id: 1 }]);
    expect(await b.fork().execute('select id from beta.item')).toEqual([{ id: 7 }]);
  });
});
