import { randomBytes } from 'node:crypto';
import { type Logger, type ModuleDatabase } from '@platform/kernel';
import { createLogger, openDatabase, ServiceMetrics, dropTestSchema, testConfig } from '@platform/kernel/testing';
import { generateKeyPair, exportJWK, type JWK } from 'jose';
import identity from '../../module.js';
import { KeyEncryption } from '../key-encryption.js';
import { SigningKeys, type SigningKeysOptions } from '../signing-keys.js';

/** Log lines of one logger, parsed. */
export function capture(): { logger: Logger; lines: string[]; records: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const logger = createLogger({ log: { level: 'info', pretty: false } }, 'identity', {
    write: (line: string) => void lines.push(line),
  });
  return { logger, lines, records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** A clock the test moves; starts now so tokens signed with real time stay valid. */
export function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let at = Date.now();
  return { now: () => at, advance: (ms: number) => void (at += ms) };
}

export const kek = (): Buffer => randomBytes(32);

export async function privateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  return exportJWK(privateKey);
}

/**
 * identity's schema, migrated, on the suite's database: embedded PGlite, or PostgreSQL with
 * DATABASE_URL (a private schema). `second()` is another connection to the same schema on
 * PostgreSQL, as a second identity instance has; PGlite allows one process one connection, so
 * there it is the same database object.
 */
export async function keyDatabase(): Promise<{
  db: ModuleDatabase;
  dataDir: string;
  second(): Promise<ModuleDatabase>;
  close(): Promise<void>;
}> {
  const { config, cleanup } = testConfig();
  const logger = createLogger(config, 'identity');
  const open = () =>
    openDatabase({
      config,
      module: 'identity',
      entities: identity.entities,
      migrations: identity.migrations,
      logger,
      metrics: new ServiceMetrics('identity'),
    });
  const db = await open();
  await db.migrate();
  const others: ModuleDatabase[] = [];
  return {
    db,
    dataDir: config.dataDir,
    async second() {
      if (db.kind === 'pglite') return db;
      const other = await open();
      others.push(other);
      return other;
    },
    async close() {
      for (const other of others) await other.close();
      await dropTestSchema(db);
      await db.close();
      await cleanup();
    },
  };
}

/** SigningKeys on a database with test defaults; `options` override them. */
export function openKeys(
  db: ModuleDatabase,
  encryption: KeyEncryption,
  options: Partial<SigningKeysOptions> = {},
): Promise<SigningKeys> {
  return SigningKeys.open({ db, encryption, logger: capture().logger, ...options });
}
