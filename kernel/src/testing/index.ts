import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DeadlockException } from '@mikro-orm/core';
import { Redis } from 'ioredis';
import { loadConfig } from '../config/load.js';
import type { PlatformConfig } from '../config/schema.js';
import { deepMerge } from '../config/load.js';
import type { ModuleDatabase } from '../database/database.js';
import type { ModuleDefinition } from '../module/define.js';
import { startSubgraph, type StartSubgraphOptions, type SubgraphHandle } from '../service/subgraph.js';

/**
 * Test configuration: `config/test.yaml`, a private temporary data directory, and, when
 * `DATABASE_URL` is set, a private Postgres schema per module so suites can run in parallel
 * against one real database. `cleanup()` removes both.
 */
export function testConfig(overrides: Record<string, unknown> = {}): {
  config: PlatformConfig;
  cleanup: () => Promise<void>;
} {
  const dataDir = mkdtempSync(join(tmpdir(), 'platform-test-'));
  const suffix = randomBytes(4).toString('hex');
  const base = loadConfig({ env: { ...process.env, PLATFORM_ENV: 'test' } });
  const services: Record<string, unknown> = {};
  for (const name of Object.keys(base.services)) {
    services[name] = { port: 0, ...(base.database.url ? { dbSchema: `t_${suffix}_${name.replace(/-/g, '_')}` } : {}) };
  }
  const config = loadConfig({
    env: { ...process.env, PLATFORM_ENV: 'test' },
    // A private Redis namespace too: rate limits and streams of one suite never meet another's.
    overrides: deepMerge({ dataDir, services, redis: { keyPrefix: `test:${suffix}` } }, overrides),
  });
  return {
    config,
    cleanup: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      if (config.redis.url) await deleteRedisKeys(config.redis.url, `${config.redis.keyPrefix}:*`);
    },
  };
}

/** Removes a suite's keys (its streams, rate limits) from the shared Redis. */
export async function deleteRedisKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Drops a private test schema (`t_…`) on PostgreSQL; embedded data goes with its directory. The
 * module may still be running (a relay's poll, a cleanup job): when PostgreSQL picks the drop as a
 * deadlock's victim, it is tried again.
 */
export async function dropTestSchema(db: ModuleDatabase): Promise<void> {
  if (db.kind !== 'postgresql' || !db.schema.startsWith('t_')) return;
  for (let attempt = 1; ; attempt++) {
    try {
      await db.orm.em.fork().execute(`drop schema if exists "${db.schema}" cascade`);
      return;
    } catch (error) {
      if (!(error instanceof DeadlockException) || attempt === 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

export interface TestSubgraph<Config = unknown, Services = unknown> extends SubgraphHandle<Config, Services> {
  /** POSTs a GraphQL operation and returns the parsed body and status. */
  query<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): Promise<{
    status: number;
    body: { data?: T; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  }>;
}

/**
 * Boots one real module on a real database (embedded, or PostgreSQL with `DATABASE_URL`) on a
 * free port. `stop()` stops it, drops its test schema and removes its data directory.
 */
export async function startTestSubgraph<Config, Services = unknown>(
  module: ModuleDefinition<Config, Services>,
  options: Omit<StartSubgraphOptions, 'config'> & { config?: PlatformConfig; overrides?: Record<string, unknown> } = {},
): Promise<TestSubgraph<Config, Services>> {
  const prepared = options.config ? { config: options.config, cleanup: async () => {} } : testConfig(options.overrides);
  const handle = await startSubgraph(module, { ...options, config: prepared.config, port: 0 });
  const query: TestSubgraph['query'] = async (text, variables, headers) => {
    const response = await fetch(handle.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: text, variables }),
    });
    return { status: response.status, body: (await response.json()) as never };
  };
  return {
    ...handle,
    query,
    stop: async () => {
      await dropTestSchema(handle.runtime.db);
      await handle.stop();
      await prepared.cleanup();
    },
  };
}

export { eventually, waitFor } from './wait.js';
export { freePort, PrivateRedis } from './redis-server.js';
export { startS3rver, type S3rverProcess } from './s3rver.js';
export { startSmtpServer, type TestSmtpServer, type ReceivedMail } from './smtp-server.js';
export {
  readOutbox,
  waitForMail,
  extractLinkToken,
  type OutboxMessage,
  type WaitForMailOptions,
} from '../mail/read-outbox.js';
export { parseMail, type ParsedMail } from '../mail/mime.js';

// What tests build their own services and fixtures from (beside the module authors' entry).
export { loadConfig, envOverrides, moduleConfig } from '../config/load.js';
export type { PlatformConfig } from '../config/schema.js';
export { createLogger } from '../logging/logger.js';
export { ServiceMetrics } from '../metrics/metrics.js';
export { openDatabase, type ModuleDatabase } from '../database/database.js';
export { createEvent } from '../events/event.js';
export type { EventBus } from '../events/bus.js';
export { createEventBus } from '../events/create.js';
export { MemoryBroker, MemoryEventBus } from '../events/memory-bus.js';
export { RedisEventBus } from '../events/redis-bus.js';
export { createRedis, closeRedis } from '../redis.js';
export { StaticPermissions } from '../graphql/permissions.js';
export { buildModuleSchema, SchemaRulesError } from '../graphql/schema.js';
export { runWithRequest } from '../http/request-context.js';
export { hasMessage, registeredCatalogs } from '../i18n/index.js';
export { catalogProblems } from '../i18n/completeness.js';
export { loadManifest } from '../module/manifest.js';
export type { ModuleDefinition } from '../module/define.js';
export { startSubgraph, type StartSubgraphOptions, type SubgraphHandle } from '../service/subgraph.js';
export { withModuleRuntime } from '../service/offline.js';
export { CloseCode } from '../subscriptions/close-codes.js';
