import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { MigrationObject } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import pino from 'pino';
import { loadConfig } from '../config/load.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import { openDatabase, type ModuleDatabase } from './database.js';

/** A migration slow enough that two instances starting together overlap in it. */
class SlowTable extends Migration {
  override up(): void {
    this.addSql('select pg_sleep(0.5)');
    this.addSql('create table "widget" ("id" int primary key)');
    this.addSql('insert into "widget" values (1)');
  }
}
const MIGRATIONS: MigrationObject[] = [{ name: 'Migration20260101000000_widget', class: SlowTable }];

// On the embedded database one process owns the cluster: there is nothing to race. jest.config.mjs
// selects this suite only when DATABASE_URL is set (.ci/run's second pass).
if (!process.env.DATABASE_URL) throw new Error('migrate-lock.test needs DATABASE_URL (a PostgreSQL server)');

describe('migrations on PostgreSQL from several instances at once', () => {
  const schema = `t_${randomBytes(4).toString('hex')}_migrate`;
  const opened: ModuleDatabase[] = [];
  const open = async (): Promise<ModuleDatabase> => {
    const config = loadConfig({
      env: { PLATFORM_ENV: 'test', DATABASE_URL: process.env.DATABASE_URL },
      overrides: { services: { widgets: { port: 0, dbSchema: schema } } },
    });
    const db = await openDatabase({
      config,
      module: 'widgets',
      entities: [],
      migrations: MIGRATIONS,
      logger: pino({ level: 'silent' }),
      metrics: new ServiceMetrics('widgets'),
    });
    opened.push(db);
    return db;
  };

  afterAll(async () => {
    await opened[0]?.fork().execute(`drop schema if exists "${schema}" cascade`);
    await Promise.all(opened.map((db) => db.close()));
  });

  it('applies each migration once: the others wait for the first and find nothing pending', async () => {
    const instances = await Promise.all([open(), open(), open()]);
    const applied = await Promise.all(instances.map((db) => db.migrate()));
    // The kernel's own migrations and the widget table, each applied by exactly one instance.
    const all = applied.flat();
    expect(all.filter((name) => name === 'Migration20260101000000_widget')).toHaveLength(1);
    expect(new Set(all).size).toBe(all.length);
    expect(applied.filter((names) => names.length === 0)).toHaveLength(2);
    const rows = await instances[0]!.fork().execute(`select id from "${schema}"."widget"`);
    expect(rows).toEqual([{ id: 1 }]);
    expect(await Promise.all(instances.map((db) => db.pendingMigrations()))).toEqual([[], [], []]);
  }, 60_000);
});
