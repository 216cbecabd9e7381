import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import type { Request } from 'express';
import type { PlatformConfig } from '../config/schema.js';
import { loadConfig, moduleConfig } from '../config/load.js';
import { openDatabase } from '../database/database.js';
import { Readiness } from '../health/health.js';
import { HttpService } from '../http/server.js';
import { currentRequest } from '../http/request-context.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import type { ModuleDefinition, ModuleRuntime } from '../module/define.js';
import { ModuleRegistry } from '../module/registry.js';
import { startTracing } from '../tracing/tracing.js';
import { platformApolloOptions } from '../graphql/apollo.js';
import { loaderFactory, type AuthenticatedUser, type GraphQLContext } from '../graphql/context.js';
import { buildModuleSchema } from '../graphql/schema.js';
import { z } from 'zod';

/** A running service (subgraph or gateway). */
export interface ServiceHandle {
  readonly name: string;
  readonly port: number;
  /** Base URL, e.g. http://127.0.0.1:4004 */
  readonly baseUrl: string;
  readonly logger: Logger;
  /** Graceful stop: drain requests, run stop hooks, close resources. Idempotent. */
  stop(): Promise<void>;
}

export interface SubgraphHandle<Config = unknown> extends ServiceHandle {
  readonly runtime: ModuleRuntime<Config>;
  /** GraphQL endpoint, e.g. http://127.0.0.1:4004/graphql */
  readonly url: string;
  readonly sdl: string;
}

export interface StartSubgraphOptions {
  /** Loaded configuration; default: `loadConfig()`. */
  config?: PlatformConfig;
  /** Port to listen on; default: `services.<name>.port` (0 picks a free port). */
  port?: number;
  /** Resolves the caller of a request (token verification arrives with identity). */
  authenticate?: (req: Request) => Promise<AuthenticatedUser | undefined> | AuthenticatedUser | undefined;
  /** Set when the caller already validated the whole registry (the in-process platform). */
  registryValidated?: boolean;
}

const emptyConfig = z.object({}).passthrough();

/**
 * Starts one module as a Federation 2 subgraph, in the kernel's fixed order: config → logger
 * → tracing → database + migrations → schema + rules → HTTP server with health and metrics →
 * `onStart` → listen. `stop()` undoes it in reverse.
 */
export async function startSubgraph<Config>(
  module: ModuleDefinition<Config>,
  options: StartSubgraphOptions = {},
): Promise<SubgraphHandle<Config>> {
  const { manifest } = module;
  const name = manifest.name;
  const platform = options.config ?? loadConfig();
  const config = moduleConfig(platform, name, (module.config ?? emptyConfig) as z.ZodType<Config>);
  if (!options.registryValidated) new ModuleRegistry().register(module).validate({ requireDependencies: false });

  const logger = createLogger(platform, name);
  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async (): Promise<void> => {
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()!();
      } catch (error) {
        logger.error({ err: error }, 'error while stopping');
      }
    }
  };

  try {
    cleanups.push(startTracing(platform, name));
    const metrics = new ServiceMetrics(name);
    const readiness = new Readiness();

    const db = await openDatabase({
      config: platform,
      module: name,
      entities: module.entities,
      migrations: module.migrations,
      logger,
      metrics,
    });
    cleanups.push(() => db.close());
    if (platform.database.migrateOnStart) {
      const applied = await db.migrate();
      if (applied.length > 0) logger.info({ migrations: applied, schema: db.schema }, 'migrations applied');
    }
    const runtime: ModuleRuntime<Config> = { manifest, platform, config, logger, db, em: () => db.fork() };

    readiness.register('database', async () => {
      await db.ping();
      return { ok: true, kind: db.kind, schema: db.schema };
    });
    readiness.register('migrations', async () => {
      const pending = await db.pendingMigrations();
      return pending.length === 0 ? { ok: true } : { ok: false, detail: `pending: ${pending.join(', ')}` };
    });
    for (const [checkName, check] of Object.entries(module.readiness ?? {})) {
      readiness.register(checkName, () => check(runtime));
    }

    const { schema, sdl } = await buildModuleSchema({
      module: name,
      resolvers: module.resolvers,
      orphanedTypes: module.orphanedTypes,
      references: module.references,
      rules: module.rules,
    });

    const http = new HttpService({
      config: platform,
      logger,
      metrics,
      readiness,
      sandbox: platform.env === 'development',
    });
    const apollo = new ApolloServer<GraphQLContext>({
      schema,
      ...platformApolloOptions({
        logger,
        metrics,
        introspection: platform.gateway.introspection,
        sandbox: platform.env === 'development',
        plugins: [ApolloServerPluginInlineTraceDisabled()],
      }),
    });
    await apollo.start();
    cleanups.push(() => apollo.stop());

    http.registerRoute('/graphql');
    http.app.use(
      '/graphql',
      ...http.jsonBody(),
      expressMiddleware(apollo, {
        context: async ({ req }) => {
          const request = currentRequest();
          const user = (await options.authenticate?.(req)) ?? undefined;
          if (request && user) request.userId = user.id;
          const requestId = request?.requestId ?? 'unknown';
          return {
            requestId,
            em: db.fork(),
            logger,
            user,
            loader: loaderFactory(),
          };
        },
      }),
    );
    http.finish();

    await module.hooks?.onStart?.(runtime);
    cleanups.push(async () => {
      await module.hooks?.onStop?.(runtime);
    });

    const port = await http.listen(options.port ?? platform.services[name]?.port ?? 0);
    cleanups.push(() => http.close());
    readiness.markStarted();
    const baseUrl = `http://${platform.host === '0.0.0.0' ? '127.0.0.1' : platform.host}:${port}`;
    logger.info({ url: `${baseUrl}/graphql`, database: db.kind }, 'subgraph ready');

    let stopping: Promise<void> | undefined;
    return {
      name,
      port,
      baseUrl,
      url: `${baseUrl}/graphql`,
      sdl,
      logger,
      runtime,
      stop: () => (stopping ??= cleanup()),
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
