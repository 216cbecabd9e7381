import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { context as otelContext } from '@opentelemetry/api';
import { currentRequest, type PlatformConfig } from '@platform/kernel';
import {
  closeRedis,
  createLogger,
  createRedis,
  HttpService,
  loadConfig,
  platformApolloOptions,
  Readiness,
  ServiceMetrics,
  startTracing,
  type ServiceHandle,
  bytesOf,
  jwksCheck,
  redisCheck,
  runAsService,
  serviceCredential,
  serviceSecret,
  tokenLimit,
} from '@platform/kernel/gateway';
import { GatewayRateLimits } from './limits/rate-limits.js';
import { SocketRegistry } from './subscriptions/connections.js';
import { startGatewayAuth } from './subscriptions/revocations.js';
import { ForwardingDataSource, keepAliveFetcher, type GatewayContext } from './data-source.js';
import { supergraphFromFile } from './supergraph.js';
import { SubscriptionPlanner } from './subscriptions/planner.js';
import { startGatewaySubscriptions, type GatewaySubscriptionStats } from './subscriptions/server.js';

/** A running gateway. */
export interface GatewayHandle extends ServiceHandle {
  /** GraphQL over HTTP and graphql-ws, e.g. http://127.0.0.1:4000/graphql */
  readonly url: string;
  /** Open client sockets, subscriptions and upstream sockets (teardown tests). */
  subscriptionStats(): GatewaySubscriptionStats;
}

export interface StartGatewayOptions {
  config?: PlatformConfig;
  port?: number;
}

const HEALTH_TIMEOUT_MS = 1000;

/**
 * Starts the supergraph gateway: @apollo/gateway over the committed supergraph (or
 * IntrospectAndCompose in development when configured), forwarding auth, request id and
 * trace context to subgraphs, with the same health, metrics, logging and shutdown as every
 * service. `/ready` reports each subgraph's reachability.
 */
export function startGateway(options: StartGatewayOptions = {}): Promise<GatewayHandle> {
  // Everything the gateway starts (its sockets, revocation sync, timers) traces as the gateway.
  return runAsService('gateway', () => startGatewayAsService(options));
}

async function startGatewayAsService(options: StartGatewayOptions): Promise<GatewayHandle> {
  const config = options.config ?? loadConfig();
  const logger = createLogger(config, 'gateway');
  const stopTracing = startTracing(config, 'gateway');
  const metrics = new ServiceMetrics('gateway');
  const readiness = new Readiness();
  const urls = Object.fromEntries(Object.entries(config.services).map(([name, service]) => [name, service.url!]));
  // Signs the client address passed on to subgraphs; read (or made) before anything else starts.
  const clientAddressSecret = serviceSecret(config);
  // Proves to subgraphs that the gateway is one of the deployment's services (`_service` for
  // composition, authz's and identity's internal routes).
  const credential = serviceCredential(clientAddressSecret);

  // One keep-alive pool for every subgraph call (see keepAliveFetcher).
  const fetcher = keepAliveFetcher({
    timeoutMs: config.gateway.subgraphTimeoutMs,
    dedupeQueries: config.gateway.dedupeInflightQueries,
    maxResponseBytes: bytesOf(config.gateway.limits.maxResponseBytes),
  });
  const gateway = new ApolloGateway({
    supergraphSdl: config.gateway.introspectAndCompose
      ? new IntrospectAndCompose({
          subgraphs: Object.entries(urls).map(([name, url]) => ({ name, url })),
          pollIntervalInMs: config.gateway.pollIntervalMs,
        })
      : supergraphFromFile(config.gateway.supergraphPath, logger),
    buildService: ({ name, url }) =>
      new ForwardingDataSource({ url: urls[name] ?? url ?? '', fetcher, clientAddressSecret, credential }),
    logger: logger.child({ component: 'apollo-gateway' }),
  });

  // Tokens are verified here too: rate limits count signed-in callers per user, and sockets
  // are refused or closed when their session is revoked.
  const registry = new SocketRegistry(config.gateway.subscriptions.maxConnectionsPerUser);
  const auth = await startGatewayAuth(config, registry, logger.child({ component: 'subscriptions' }), credential);
  // Rate counters: a short command timeout, so a slow Redis never holds a request (each instance
  // then counts in its own memory until Redis answers again).
  const redis = config.redis.url
    ? createRedis(config.redis.url, {
        name: 'gateway',
        logger,
        commandTimeoutMs: 500,
        onError: () => metrics.dependencyErrors.inc({ dependency: 'redis' }),
      })
    : undefined;
  if (redis) readiness.register('redis', () => redisCheck(redis), { critical: false });
  const { sync } = auth;
  if (sync) readiness.register('revocations', () => sync.status(), { critical: false });
  const { jwksUrl } = auth;
  if (jwksUrl) readiness.register('jwks', () => jwksCheck(jwksUrl), { critical: false });
  const rateLimits = new GatewayRateLimits({ config, redis, verifier: auth.verifier, logger, metrics });
  const releaseEarly = async (): Promise<void> => {
    if (redis) await closeRedis(redis);
    await auth.close();
  };

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    ...platformApolloOptions({
      logger,
      metrics,
      introspection: config.gateway.introspection,
      sandbox: config.gateway.sandbox,
      limits: config.gateway.limits,
      plugins: [rateLimits.plugin() as never],
    }),
  });
  // Subscriptions are planned here (the gateway executes none); kept in step with the supergraph.
  const planner = new SubscriptionPlanner();
  gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => planner.update(coreSupergraphSdl, apiSchema));
  try {
    await apollo.start();
  } catch (error) {
    await releaseEarly();
    throw error;
  }

  // Reported, not critical: a subgraph without a live instance fails only the fields it serves,
  // and a gateway taken out of its load balancer for it would fail every other field too.
  for (const [name, url] of Object.entries(urls)) {
    const health = new URL('/healthz', url).toString();
    readiness.register(
      `subgraph:${name}`,
      async () => {
        const response = await fetch(health, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
        return response.ok ? { ok: true, url } : { ok: false, url, detail: `HTTP ${response.status}` };
      },
      { critical: false },
    );
  }

  const http = new HttpService({
    config,
    logger,
    metrics,
    readiness,
    compression: true,
    sandbox: config.gateway.sandbox,
    metricsCredential: config.metrics.requireCredential ? credential : undefined,
    onCredentialRefused: (path, presented) => {
      metrics.credentialRefusals.inc({ route: path });
      logger.warn({ path, presented }, 'metrics scraped without the service credential');
    },
  });
  http.registerRoute('/graphql');
  http.app.use(
    '/graphql',
    rateLimits.middleware(),
    ...http.jsonBody(),
    tokenLimit(config.gateway.limits, metrics),
    expressMiddleware(apollo, {
      context: async ({ req }) => ({
        requestId: currentRequest()?.requestId ?? 'unknown',
        authorization: req.headers.authorization,
        clientIp: currentRequest()?.ip,
        userAgent: req.get('user-agent'),
        trace: otelContext.active(),
      }),
    }),
  );
  http.finish();

  let subscriptions;
  try {
    subscriptions = await startGatewaySubscriptions({
      server: http.server,
      config,
      logger,
      metrics,
      planner,
      urls,
      auth,
      registry,
      rateLimits,
      credential,
      services: Object.fromEntries(
        // The same pool (and in-flight dedupe) as queries: subscribers of one event who fetch the same
        // entities with the same credentials share one call.
        Object.entries(urls).map(([name, url]) => [
          name,
          new ForwardingDataSource({ url, fetcher, clientAddressSecret, credential }),
        ]),
      ),
      executeOperation: async (request, contextValue) => {
        const response = await apollo.executeOperation(request, { contextValue });
        return response.body.kind === 'single'
          ? response.body.singleResult
          : { errors: [{ message: 'Incremental delivery is not supported over WebSocket' }] };
      },
    });
  } catch (error) {
    await apollo.stop();
    await releaseEarly();
    await stopTracing();
    throw error;
  }

  let port: number;
  try {
    port = await http.listen(options.port ?? config.gateway.port);
  } catch (error) {
    await subscriptions.close();
    await apollo.stop();
    await releaseEarly();
    await stopTracing();
    throw error;
  }
  readiness.exposeMetrics(metrics.registry);
  readiness.markStarted();
  const baseUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  logger.info({ url: `${baseUrl}/graphql` }, 'gateway ready');

  let stopping: Promise<void> | undefined;
  return {
    name: 'gateway',
    port,
    baseUrl,
    url: `${baseUrl}/graphql`,
    logger,
    subscriptionStats: () => subscriptions.stats(),
    stop: () =>
      (stopping ??= (async () => {
        // Sockets first (1001 "going away", upstream sockets closed), then HTTP drains.
        await subscriptions.close();
        await http.close();
        await apollo.stop();
        await releaseEarly();
        await stopTracing();
      })()),
  };
}
