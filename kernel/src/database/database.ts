import type { MigrationObject, Options } from '@mikro-orm/core';
import { createPostgreSqlTypeParsers, type SqlEntityManager, type SqlMikroORM } from '@mikro-orm/sql';
import { parse as parseArray } from 'postgres-array';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/schema.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { embeddedDataDir, openEmbeddedCluster, type EmbeddedCluster } from './embedded.js';
import { OrmLoggerBridge } from './logger-bridge.js';
import { eventMigrations } from '../events/migrations/index.js';
import { jobMigrations } from '../jobs/migrations/index.js';

/** The database of one module: its own ORM, in its own Postgres schema. */
export interface ModuleDatabase {
  readonly orm: SqlMikroORM;
  /** `postgresql` when `DATABASE_URL` (or the service's `databaseUrl`) is set, else `pglite`. */
  readonly kind: 'postgresql' | 'pglite';
  readonly schema: string;
  /** A fresh EntityManager for one request or job. */
  fork(): SqlEntityManager;
  migrate(): Promise<string[]>;
  pendingMigrations(): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  config: PlatformConfig;
  module: string;
  /** Entity classes (decorated with `@mikro-orm/decorators/legacy`). */
  entities: Function[];
  migrations: MigrationObject[];
  logger: Logger;
  metrics: ServiceMetrics;
}

/** The type parsers MikroORM gives the PGlite instances it creates itself (dates stay strings for it). */
const pgliteParsers = createPostgreSqlTypeParsers((value) => parseArray(value));

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Opens a module's database: PostgreSQL when a URL is configured, otherwise its own embedded
 * PGlite cluster under `dataDir/<module>/pgdata`. Either way the module's tables live in its own
 * schema and migrations are tracked there.
 */
export async function openDatabase(options: DatabaseOptions): Promise<ModuleDatabase> {
  const { config, module, logger, metrics } = options;
  const service = config.services[module];
  const schema = service?.dbSchema ?? module.replace(/-/g, '_');
  const url = service?.databaseUrl ?? config.database.url;
  const dbLogger = logger.child({ component: 'database' });

  const common: Partial<Options> = {
    entities: options.entities,
    metadataProvider: ReflectMetadataProvider,
    schema,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: false },
    debug: true,
    loggerFactory: () => new OrmLoggerBridge(dbLogger, metrics, schema, config.database.debug),
    migrations: {
      // The kernel's own tables (event outbox, processed events, jobs) come first in every schema.
      migrationsList: [...eventMigrations, ...jobMigrations, ...options.migrations],
      schema,
      tableName: 'mikro_orm_migrations',
      snapshot: false,
      transactional: true,
      allOrNothing: true,
      disableForeignKeys: false,
    },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    // Each module's ORM keeps its own request/transaction context: several share one process, and a
    // handler running inside another module's transaction must not pick up that module's EntityManager.
    contextName: `platform:${module}`,
    ensureDatabase: false,
  };

  let orm: SqlMikroORM;
  let kind: ModuleDatabase['kind'];
  let embedded: EmbeddedCluster | undefined;
  if (url) {
    const { MikroORM: PgOrm } = await import('@mikro-orm/postgresql');
    kind = 'postgresql';
    orm = await PgOrm.init({
      ...(common as object),
      clientUrl: url,
      pool: { min: 0, max: config.database.poolMax },
      // Set on every pooled connection: a statement nobody will wait for is cancelled by PostgreSQL.
      ...(config.database.statementTimeoutMs > 0
        ? { driverOptions: { statement_timeout: config.database.statementTimeoutMs } }
        : {}),
    });
  } else {
    const { MikroORM: PgliteOrm } = await import('@mikro-orm/pglite');
    kind = 'pglite';
    const cluster = await openEmbeddedCluster(embeddedDataDir(config, module)!, { parsers: pgliteParsers });
    embedded = cluster;
    if (cluster.created) dbLogger.info({ dataDir: cluster.dataDir }, 'embedded PostgreSQL cluster created');
    try {
      // MikroORM uses the instance it is given and leaves closing it to us.
      orm = await PgliteOrm.init({
        ...(common as object),
        dbName: 'postgres',
        driverOptions: { pglite: cluster.pglite },
      });
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  const em = orm.em.fork();
  try {
    await em.execute(`create schema if not exists ${quoteIdent(schema)}`);
  } catch (error) {
    // Two instances starting at once: `if not exists` still races in the catalogue (unique
    // violation on pg_namespace); the other one made it.
    if ((error as { code?: string }).code !== '23505') throw error;
  }

  return {
    orm,
    kind,
    schema,
    fork: () => orm.em.fork(),
    async migrate() {
      const up = async (): Promise<string[]> => (await orm.migrator.up()).map((m) => m.name);
      // An embedded cluster has one process; a server has every instance and `platformctl migrate` pod.
      return url ? withMigrationLock(url, schema, dbLogger, up) : up();
    },
    async pendingMigrations() {
      return (await orm.migrator.getPending()).map((m) => m.name);
    },
    async ping() {
      await orm.em.fork().execute('select 1');
    },
    async close() {
      try {
        await orm.close(true);
      } finally {
        await embedded?.close();
      }
    },
  };
}

/**
 * Runs `migrate` holding a PostgreSQL advisory lock for the schema on a connection of its own,
 * so several instances (or `platformctl migrate` from several pods) starting at once migrate one
 * after the other: the first applies what is pending, the rest find nothing left. The lock is a
 * session lock: it goes with the connection if the process dies mid-way.
 */
async function withMigrationLock<T>(
  url: string,
  schema: string,
  logger: Logger,
  migrate: () => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: `platform-migrate:${schema}` });
  await client.connect();
  const key = [MIGRATION_LOCK_SPACE, schema];
  try {
    const [{ locked }] = (
      await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1), hashtext($2)) as locked', key)
    ).rows as [{ locked: boolean }];
    if (!locked) {
      logger.info({ schema }, 'another instance is migrating this schema: waiting for it');
      await client.query('select pg_advisory_lock(hashtext($1), hashtext($2))', key);
    }
    try {
      return await migrate();
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1), hashtext($2))', key);
    }
  } finally {
    await client.end();
  }
}

/** The first half of the migration lock's key (the schema is the second). */
const MIGRATION_LOCK_SPACE = 'platform:migrate';
