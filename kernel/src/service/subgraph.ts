import type { PlatformConfig } from '../config/schema.js';
import { loadConfig } from '../config/load.js';
import { createErrorBus } from '../error-bus/create.js';
import type { ErrorBus } from '../error-bus/error-bus.js';
import { createEventBus } from '../events/create.js';
import type { EventBus } from '../events/bus.js';
import { KernelTopic } from '../events/kernel-topics.js';
import { EventMetrics } from '../events/metrics.js';
import { OutboxRelay } from '../events/outbox.js';
import type { AuthenticatedUser } from '../graphql/context.js';
import type { PermissionResolver } from '../graphql/permissions.js';
import { Readiness } from '../health/health.js';
import { currentRequest } from '../http/request-context.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import { kernelJobs } from '../jobs/service.js';
import { startConsumers } from '../module/consumers.js';
import { seedContext, type ModuleDefinition, type ModuleRuntime } from '../module/define.js';
import { ModuleRegistry } from '../module/registry.js';
import { CredentialRefusals, refusalRoute } from '../security/credential-refusals.js';
import { serviceCredential } from '../security/service-credential.js';
import { serviceSecret } from '../security/service-secret.js';
import type { PubSubStats } from '../subscriptions/pubsub.js';
import type { SubscriptionServerStats } from '../subscriptions/subgraph-server.js';
import { redisCheck } from '../redis.js';
import { runAsService, startTracing } from '../tracing/tracing.js';
import type { Request } from 'express';
import { connectAuth } from './auth.js';
import { serveGraphQL } from './graphql.js';
import { buildRuntime } from './runtime.js';
import { Teardown } from './teardown.js';

/** A running service (subgraph or gateway). */
export interface ServiceHandle {
  readonly name: string;
  readonly port: number;
  /** Base URL, e.g. http://127.0.0.1:4004 */
  readonly baseUrl: string;
  readonly logger: Logger;
  /** Where the service's unexpected errors go (log, `errors_total`, Sentry). */
  readonly errors: ErrorBus;
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
   * Answers `ctx.can()`; default: the module's own if it implements the permissions contract
   * (authz), else the permission service (`auth.permissionService`) asked over HTTP and cached.
   */
  permissions?: PermissionResolver;
  /** Where the permission service is, when not where the config says (the in-process platform, on free ports). */
  permissionServiceUrl?: () => string | undefined;
  /** A bus shared with other services in this process (closed by its owner); default: one from config. */
  bus?: EventBus;
  /**
   * Keep recorded events in the outbox until `releaseEvents()`: the in-process platform starts
   * every module (and so every subscription) before any event flows, as the in-memory bus
   * delivers only to groups that already exist.
   */
  holdEvents?: boolean;
}

/**
 * Starts one module as a Federation 2 subgraph, in the kernel's fixed order, each a named step:
 * config, logger and tracing → the runtime (database + migrations, Redis, bus, outbox, pub/sub,
 * the module's services; shared with command-line jobs) → auth (permissions, tokens,
 * revocations) → GraphQL (schema + rules, HTTP with health and metrics, graphql-ws) → the
 * module's hooks and consumers → listen. `stop()` undoes it in reverse.
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
  const name = module.manifest.name;
  const platform = options.config ?? loadConfig();
  if (!options.registryValidated) new ModuleRegistry().register(module).validate({ requireDependencies: false });
  const logger = createLogger(platform, name);
  const teardown = new Teardown(logger);
  try {
    teardown.add(startTracing(platform, name));
    const metrics = new ServiceMetrics(name);
    // Closed last (teardown runs in reverse): what the shutdown reports still reaches Sentry.
    const errors = await createErrorBus({ config: platform, module: name, logger, metrics });
    teardown.add(() => errors.close(platform.errors.sentry.flushTimeoutMs));
    const readiness = new Readiness();
    // The deployment's service secret: it signs client addresses, and the credential derived
    // from it opens internal routes, `_service` and (in production) `/metrics`.
    const secret = serviceSecret(platform);
    const credential = serviceCredential(secret);
    const bus = options.bus ?? createEventBus({ config: platform, module: name, logger });
    if (!options.bus) teardown.add(() => bus.close());

    const { runtime, services } = await buildRuntime(module, {
      platform,
      logger,
      metrics,
      teardown,
      bus,
      errors,
      serving: true,
    });
    const events = new EventMetrics(metrics, runtime.db, module.manifest.events.publishes);
    const relay = new OutboxRelay({ db: runtime.db, bus: events.counting(bus), logger });
    if (!options.holdEvents) relay.start();
    teardown.add(() => relay.stop());
    registerReadiness(readiness, module, runtime);
    const credentialRefused = refusalRecorder(runtime, metrics);

    const auth = await connectAuth(module, runtime, services, {
      readiness,
      metrics,
      teardown,
      credential,
      permissions: options.permissions,
      permissionServiceUrl: options.permissionServiceUrl,
      authenticate: options.authenticate,
    });
    const graphql = await serveGraphQL(module, runtime, services, {
      metrics,
      readiness,
      teardown,
      auth,
      secret,
      credential,
      credentialRefused,
      errors,
    });
    await runHooks(module, runtime, services, teardown);

    const { http, sockets } = graphql;
    const port = await http.listen(options.port ?? platform.services[name]?.port ?? 0);
    teardown.add(() => http.close());
    // Sockets first (1001 "going away"), so the gateway sees a clean close, then HTTP drains.
    teardown.add(() => sockets.close());
    readiness.exposeMetrics(metrics.registry);
    readiness.markStarted();
    const baseUrl = `http://${platform.host === '0.0.0.0' ? '127.0.0.1' : platform.host}:${port}`;
    logger.info({ url: `${baseUrl}/graphql`, database: runtime.db.kind }, 'subgraph ready');
    return {
      name,
      port,
      baseUrl,
      url: `${baseUrl}/graphql`,
      sdl: graphql.sdl,
      logger,
      errors,
      runtime,
      services,
      releaseEvents: () => relay.start(),
      subscriptionStats: () => ({ ...sockets.stats(), pubsub: runtime.pubsub.stats() }),
      stop: () => teardown.run(),
    };
  } catch (error) {
    await teardown.run();
    throw error;
  }
}

/** `/ready`: the database, its migrations, Redis (reported, not critical), and the module's own checks. */
function registerReadiness<Config, Services>(
  readiness: Readiness,
  module: ModuleDefinition<Config, Services>,
  runtime: ModuleRuntime<Config>,
): void {
  const { db, redis } = runtime;
  if (redis) readiness.register('redis', () => redisCheck(redis), { critical: false });
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
}

/**
 * A refused service credential: counted, and recorded as `kernel.credential.refused` in this
 * module's outbox (and logged) at most once per route and client address a minute, so a flood
 * is not a flood of writes.
 */
function refusalRecorder<Config>(
  runtime: ModuleRuntime<Config>,
  metrics: ServiceMetrics,
): (path: string, presented: boolean) => void {
  const refusals = new CredentialRefusals({
    service: runtime.manifest.name,
    logger: runtime.logger,
    record: (payload) => runtime.events.record(runtime.db.fork(), KernelTopic.CredentialRefused, payload),
  });
  return (path, presented) => {
    metrics.credentialRefusals.inc({ route: refusalRoute(path) });
    refusals.refused({ path, presented, ip: currentRequest()?.ip });
  };
}

/** `onStart`, the declared consumers, the development seed; `onStop` on the way down. */
async function runHooks<Config, Services>(
  module: ModuleDefinition<Config, Services>,
  runtime: ModuleRuntime<Config>,
  services: Services,
  teardown: Teardown,
): Promise<void> {
  await module.hooks?.onStart?.(runtime, services);
  // Declared consumers, stopped (teardown runs in reverse) before the services and the database close.
  teardown.add(await startConsumers(module.consumers, runtime, services));
  // The queues' workers and the schedules, stopped (running jobs finish, bounded) before the services close.
  const jobs = kernelJobs(runtime.jobs);
  await jobs.start();
  teardown.add(() => jobs.stop());
  if (runtime.platform.env === 'development') {
    // Alone, without the other modules' outcomes (one service per process): authz also gives
    // the administrator its role from identity's `identity.user.created` event. A development
    // database made before accounts were marked as seeded has its administrator adopted.
    const outcome = await module.hooks?.seed?.(runtime, services, seedContext(new Map(), { adoptExisting: true }));
    if (outcome?.report?.length) runtime.logger.info({ seeded: outcome.report }, 'seeded');
  }
  teardown.add(async () => {
    await module.hooks?.onStop?.(runtime, services);
  });
}
