import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { AuthenticationError, PlatformError } from '../errors.js';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { Router, type Request } from 'express';
import type { PlatformConfig } from '../config/schema.js';
import { loadConfig, moduleConfig } from '../config/load.js';
import { openDatabase } from '../database/database.js';
import { Readiness } from '../health/health.js';
import { HttpService } from '../http/server.js';
import { currentRequest } from '../http/request-context.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import { seedContext, type ModuleDefinition, type ModuleRuntime } from '../module/define.js';
import { createEventBus } from '../events/create.js';
import type { EventBus } from '../events/bus.js';
import { OutboxRelay, outboxRecorder } from '../events/outbox.js';
import { KernelTopic } from '../events/kernel-topics.js';
import { CredentialRefusals, refusalRoute } from '../security/credential-refusals.js';
import { closeRedis, createRedis, redisCheck } from '../redis.js';
import { healthOf, jwksCheck } from '../health/checks.js';
import { RevocationList } from '../auth/revocation-list.js';
import { remoteRevocations, RevocationSync } from '../auth/revocation-sync.js';
import { TokenVerifier } from '../auth/token-verifier.js';
import { startConsumers } from '../module/consumers.js';
import { ModuleRegistry } from '../module/registry.js';
import { runAsService, startTracing } from '../tracing/tracing.js';
import { platformApolloOptions } from '../graphql/apollo.js';
import { loaderFactory, type AuthenticatedUser, type GraphQLContext } from '../graphql/context.js';
import { buildModuleSchema } from '../graphql/schema.js';
import { permissionCheck, type PermissionResolver } from '../graphql/permissions.js';
import { asksSharedAnswer, sharedAnswerContext, sharedAnswerPlugin } from '../graphql/shared-answer.js';
import { RemotePermissions } from '../auth/remote-permissions.js';
import { createPubSub, type PubSubStats } from '../subscriptions/pubsub.js';
import { guardSubscriptionFields } from '../subscriptions/guard.js';
import { serveSubgraphSubscriptions, type SubscriptionServerStats } from '../subscriptions/subgraph-server.js';
import { serviceSecret } from '../security/service-secret.js';
import {
  isServiceCredential,
  requireServiceCredential,
  SERVICE_CREDENTIAL_HEADER,
  serviceCredential,
} from '../security/service-credential.js';
import { rootFieldNodes } from '../limits/operation-limits.js';
import { tokenLimit } from '../limits/plugin.js';
import { randomUUID } from 'node:crypto';
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

export interface SubgraphHandle<Config = unknown, Services = unknown> extends ServiceHandle {
  readonly runtime: ModuleRuntime<Config>;
  /** What the module's `services` hook built (undefined without one). */
  readonly services: Services;
  /** Starts relaying the outbox (immediate unless started with `holdEvents`). */
  releaseEvents(): void;
  /** GraphQL endpoint, e.g. http://127.0.0.1:4004/graphql */
  readonly url: string;
  readonly sdl: string;
  /** Open graphql-ws sockets and subscriptions, and the pub/sub's live streams and channels (teardown tests). */
  subscriptionStats(): SubscriptionServerStats & { pubsub: PubSubStats };
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
  /**
   * Answers `ctx.can()`; default: the module's own resolver if it has one (authz), else authz
   * asked over HTTP and cached.
   */
  permissions?: PermissionResolver;
  /** Where authz is, when not where the config says (the in-process platform, on free ports). */
  authzUrl?: () => string | undefined;
  /** A bus shared with other services in this process (closed by its owner); default: one from config. */
  bus?: EventBus;
  /**
   * Keep recorded events in the outbox until `releaseEvents()`: the in-process platform starts
   * every module (and so every subscription) before any event flows, as the in-memory bus
   * delivers only to groups that already exist.
   */
  holdEvents?: boolean;
}

const emptyConfig = z.object({}).passthrough();

/**
 * A request whose token was refused gets UNAUTHENTICATED for the whole operation: it is not
 * quietly served as anonymous. Raised once the operation is known, so the answer is a normal
 * GraphQL response that the gateway relays with its code.
 */
function rejectBadCredentials(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue }) {
          const error = (contextValue as GraphQLContext & { authError?: PlatformError }).authError;
          if (error) {
            // Apollo answers errors raised here with 500 unless told otherwise; to the gateway a
            // 200 with errors is a GraphQL answer it relays as is (message and code).
            error.extensions.http = { status: 200 };
            throw error;
          }
        },
      };
    },
  };
}

/**
 * `_service` (the subgraph's SDL, for composition) answers only the deployment's services: 401
 * UNAUTHENTICATED otherwise, before anything runs.
 */
function serviceFieldsPlugin(
  credential: string,
  refused: (path: string, presented: boolean) => void,
): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (!operation || !rootFieldNodes(document, operation).some((field) => field.name.value === '_service'))
            return;
          const presented = request.http?.headers.get(SERVICE_CREDENTIAL_HEADER) ?? undefined;
          if (isServiceCredential(credential, presented)) return;
          refused('_service', presented !== undefined);
          const error = new AuthenticationError(
            '`_service` is for the platform’s services: present the service credential',
          );
          error.extensions.http = { status: 401 };
          throw error;
        },
      };
    },
  };
}

/** How long a revocation matters: no access token issued before it outlives this. */
export const revocationHoldMs = (platform: PlatformConfig): number => (platform.auth.accessTokenTtlSec + 60) * 1000;

/** A service's base URL, where the platform's config says it is. */
function serviceBaseUrl(platform: PlatformConfig, name: string, defaultPort: number): string {
  const service = platform.services[name];
  return service?.url
    ? new URL(service.url).origin
    : `http://${platform.host === '0.0.0.0' ? '127.0.0.1' : platform.host}:${service?.port ?? defaultPort}`;
}

/** authz's base URL, for permission lookups. */
export const authzUrlOf = (platform: PlatformConfig): string => serviceBaseUrl(platform, 'authz', 4002);

/** identity's base URL; undefined when only "a free port" is configured (a lone test subgraph). */
function identityBaseUrl(platform: PlatformConfig): string | undefined {
  if (platform.auth.jwksUrl) return new URL(platform.auth.jwksUrl).origin;
  const identity = platform.services.identity;
  return identity?.url || identity?.port !== 0 ? serviceBaseUrl(platform, 'identity', 4001) : undefined;
}

/** identity's key set, where the platform's config says identity is. */
function jwksUrlOf(platform: PlatformConfig): string {
  return `${serviceBaseUrl(platform, 'identity', 4001)}/.well-known/jwks.json`;
}

/**
 * Starts one module as a Federation 2 subgraph, in the kernel's fixed order: config → logger
 * → tracing → database + migrations → schema + rules → HTTP server with health and metrics →
 * `onStart` → listen. `stop()` undoes it in reverse.
 */
export function startSubgraph<Config, Services = unknown>(
  module: ModuleDefinition<Config, Services>,
  options: StartSubgraphOptions = {},
): Promise<SubgraphHandle<Config, Services>> {
  // Everything the service starts (relays, consumers, timers) traces as this service.
  return runAsService(module.manifest.name, () => startSubgraphAsService(module, options));
}

async function startSubgraphAsService<Config, Services = unknown>(
  module: ModuleDefinition<Config, Services>,
  options: StartSubgraphOptions,
): Promise<SubgraphHandle<Config, Services>> {
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
    // The deployment's service secret: it signs client addresses, and the credential derived
    // from it opens internal routes, `_service` and (in production) `/metrics`.
    const secret = serviceSecret(platform);
    const credential = serviceCredential(secret);

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

    // Request paths fail over to their fallbacks within a second rather than wait on a slow Redis.
    const redis = platform.redis.url
      ? createRedis(platform.redis.url, {
          name,
          logger,
          commandTimeoutMs: 1000,
          onError: () => metrics.dependencyErrors.inc({ dependency: 'redis' }),
        })
      : undefined;
    if (redis) {
      cleanups.push(() => closeRedis(redis));
      readiness.register('redis', () => redisCheck(redis), { critical: false });
    }
    const bus = options.bus ?? createEventBus({ config: platform, module: name, logger });
    if (!options.bus) cleanups.push(() => bus.close());
    const relay = new OutboxRelay({ db, bus, logger });
    if (!options.holdEvents) relay.start();
    cleanups.push(() => relay.stop());
    const events = outboxRecorder(name, db);
    // Counted, and recorded as `kernel.credential.refused` in this module's outbox (and logged) at
    // most once per route and client address a minute, so a flood is not a flood of writes.
    const refusals = new CredentialRefusals({
      service: name,
      logger,
      record: (payload) => events.record(db.fork(), KernelTopic.CredentialRefused, payload),
    });
    const credentialRefused = (path: string, presented: boolean): void => {
      metrics.credentialRefusals.inc({ route: refusalRoute(path) });
      refusals.refused({ path, presented, ip: currentRequest()?.ip });
    };
    const pubsub = createPubSub(platform, name, logger);
    cleanups.push(() => pubsub.close());
    const runtime: ModuleRuntime<Config> = {
      manifest,
      platform,
      config,
      logger,
      db,
      em: () => db.fork(),
      bus,
      events,
      redis,
      pubsub,
    };

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

    const services = (module.services ? await module.services(runtime) : undefined) as Services;
    const closable = services as { close?: () => Promise<void> | void } | undefined;
    if (typeof closable?.close === 'function') cleanups.push(() => closable.close!());
    let permissions = options.permissions ?? module.permissions?.(services);
    if (!permissions) {
      // authz asked over HTTP, where the config says it is; its events (on this service's bus)
      // drop cached answers as soon as roles, grants or assignments change.
      const remote = new RemotePermissions({
        url: options.authzUrl ?? authzUrlOf(platform),
        bus,
        logger,
        ttlMs: platform.auth.permissionCacheTtlSec * 1000,
        credential,
        onFailure: () => metrics.dependencyErrors.inc({ dependency: 'authz' }),
      });
      await remote.start();
      cleanups.push(() => remote.close());
      const authz = options.authzUrl ?? (() => authzUrlOf(platform));
      readiness.register('authz', () => healthOf(typeof authz === 'string' ? authz : authz()), { critical: false });
      permissions = remote;
    }
    const resolver: PermissionResolver = permissions;

    // Access tokens: verified here, against identity's keys. Revocations arrive over the bus at
    // once, and are read from identity (its database, for identity itself) every third of the
    // bound, so none is missed for longer than it, bus or no bus.
    const revocations = new RevocationList({ holdMs: revocationHoldMs(platform) });
    const subscriptions = await Promise.all([
      bus.listen('identity.session.revoked', (event) => {
        const { sessionId } = event.payload as { sessionId?: string };
        if (sessionId) revocations.revokeSession(sessionId);
      }),
      bus.listen('identity.user.deleted', (event) => {
        const { userId } = event.payload as { userId?: string };
        if (userId) revocations.revokeUser(userId, undefined, Date.parse(event.occurredAt));
      }),
    ]);
    cleanups.push(async () => {
      await Promise.all(subscriptions.map((subscription) => subscription.close()));
    });
    const identityUrl = identityBaseUrl(platform);
    const source = module.localRevocations
      ? module.localRevocations(runtime, services)
      : !module.localKeys && identityUrl
        ? remoteRevocations({ url: () => identityUrl, credential })
        : undefined;
    const sync = source
      ? new RevocationSync({
          revocations,
          source,
          logger,
          boundMs: platform.auth.revocationBoundSec * 1000,
          onFailure: () => metrics.dependencyErrors.inc({ dependency: 'identity' }),
        })
      : undefined;
    if (sync) {
      await sync.start();
      cleanups.push(() => sync.close());
      readiness.register('revocations', () => sync.status(), { critical: false });
    }
    const jwksUrl = platform.auth.jwksUrl ?? jwksUrlOf(platform);
    if (!module.localKeys) readiness.register('jwks', () => jwksCheck(jwksUrl), { critical: false });
    const verifier = new TokenVerifier({
      issuer: platform.auth.issuer,
      audience: platform.auth.audience,
      keys: module.localKeys ? { local: () => module.localKeys!(services) } : { url: jwksUrl },
      revocations,
      freshness: sync,
      logger,
    });
    const authenticate = options.authenticate ?? ((req: Request) => verifier.authenticate(req));

    const { schema, sdl } = await buildModuleSchema({
      module: name,
      resolvers: module.resolvers,
      orphanedTypes: module.orphanedTypes,
      references: module.references,
      rules: module.rules,
      permissions: manifest.permissions.map((p) => p.name),
    });
    guardSubscriptionFields(schema, module.rules);

    const http = new HttpService({
      config: platform,
      logger,
      metrics,
      readiness,
      sandbox: platform.env === 'development',
      // The gateway says who the client is, signed with the deployment's secret.
      clientAddressSecret: secret,
      metricsCredential: platform.metrics.requireCredential ? credential : undefined,
      onCredentialRefused: credentialRefused,
    });
    const apollo = new ApolloServer<GraphQLContext<Services>>({
      schema,
      ...platformApolloOptions({
        logger,
        metrics,
        introspection: platform.gateway.introspection,
        sandbox: platform.env === 'development',
        limits: platform.gateway.limits,
        plugins: [
          ApolloServerPluginInlineTraceDisabled(),
          rejectBadCredentials(),
          sharedAnswerPlugin(),
          serviceFieldsPlugin(credential, credentialRefused),
        ],
      }),
    });
    await apollo.start();
    cleanups.push(() => apollo.stop());

    /**
     * What a resolver gets for one operation (over HTTP, or one subscription event over
     * graphql-ws); for a shared answer, one that hides who the caller is (see sharedAnswerContext).
     */
    const operationContext = (
      requestId: string,
      user: AuthenticatedUser | undefined,
      sharedAnswer = false,
      signal?: AbortSignal,
    ) => {
      const context = {
        requestId,
        signal,
        em: db.fork(),
        logger,
        user,
        can: permissionCheck(resolver, user),
        services,
        loader: loaderFactory(),
      };
      return sharedAnswer ? sharedAnswerContext(context, resolver) : context;
    };

    http.registerRoute('/graphql');
    http.app.use(
      '/graphql',
      ...http.jsonBody(),
      tokenLimit(platform.gateway.limits, metrics),
      expressMiddleware(apollo, {
        context: async ({ req }) => {
          const request = currentRequest();
          let user: AuthenticatedUser | undefined;
          let authError: PlatformError | undefined;
          try {
            user = (await authenticate(req)) ?? undefined;
          } catch (error) {
            // A bad token fails the operation (see rejectBadCredentials), not the HTTP request.
            if (!(error instanceof PlatformError)) throw error;
            authError = error;
            logger.info({ reason: (error as { reason?: string }).reason }, 'access token rejected');
          }
          if (request && user) request.userId = user.id;
          const context = operationContext(
            request?.requestId ?? 'unknown',
            user,
            asksSharedAnswer(req.headers),
            request?.signal,
          );
          return authError ? { ...context, authError } : context;
        },
      }),
    );
    // Internal routes answer only the deployment's services.
    http.app.use('/internal', requireServiceCredential(credential, { onRefused: credentialRefused }));
    if (module.routes) {
      const router = Router();
      module.routes(router, runtime, services, { authenticate: async (req) => (await authenticate(req)) ?? undefined });
      http.app.use(router);
    }
    http.finish();

    await module.hooks?.onStart?.(runtime, services);
    // Declared consumers, stopped (cleanups run in reverse) before the services and the database close.
    cleanups.push(await startConsumers(module.consumers, runtime, services));
    if (platform.env === 'development') {
      // Alone, without the other modules' outcomes (one service per process): authz also gives
      // the administrator its role from identity's `identity.user.created` event. A development
      // database made before accounts were marked as seeded has its administrator adopted.
      const outcome = await module.hooks?.seed?.(runtime, services, seedContext(new Map(), { adoptExisting: true }));
      if (outcome?.report?.length) logger.info({ seeded: outcome.report }, 'seeded');
    }
    cleanups.push(async () => {
      await module.hooks?.onStop?.(runtime, services);
    });

    // graphql-ws on the same port and path, for the gateway's subscriptions.
    const socketServer = serveSubgraphSubscriptions({
      server: http.server,
      schema,
      logger,
      verifier,
      revocations,
      keepAliveMs: platform.gateway.subscriptions.keepAliveMs,
      connectionInitTimeoutMs: platform.gateway.subscriptions.connectionInitTimeoutMs,
      context: (user, sharedAnswer) => operationContext(randomUUID(), user, sharedAnswer),
    });
    const port = await http.listen(options.port ?? platform.services[name]?.port ?? 0);
    cleanups.push(() => http.close());
    // Sockets first (1001 "going away"), so the gateway sees a clean close, then HTTP drains.
    cleanups.push(() => socketServer.close());
    readiness.exposeMetrics(metrics.registry);
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
      services,
      releaseEvents: () => relay.start(),
      subscriptionStats: () => ({ ...socketServer.stats(), pubsub: pubsub.stats() }),
      stop: () => (stopping ??= cleanup()),
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
