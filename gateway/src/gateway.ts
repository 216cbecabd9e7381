import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { context as otelContext } from '@opentelemetry/api';
import {
  createLogger,
  currentRequest,
  HttpService,
  loadConfig,
  platformApolloOptions,
  Readiness,
  ServiceMetrics,
  startTracing,
  type PlatformConfig,
  type ServiceHandle,
} from '@platform/kernel';
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
export async function startGateway(options: StartGatewayOptions = {}): Promise<GatewayHandle> {
  const config = options.config ?? loadConfig();
  const logger = createLogger(config, 'gateway');
  const stopTracing = startTracing(config, 'gateway');
  const metrics = new ServiceMetrics('gateway');
  const readiness = new Readiness();
  const urls = Object.fromEntries(Object.entries(config.services).map(([name, service]) => [name, service.url!]));

  // One keep-alive pool for every subgraph call (see keepAliveFetcher).
  const fetcher = keepAliveFetcher({
    timeoutMs: config.gateway.subgraphTimeoutMs,
    dedupeQueries: config.gateway.dedupeInflightQueries,
  });
  const gateway = new ApolloGateway({
    supergraphSdl: config.gateway.introspectAndCompose
      ? new IntrospectAndCompose({
          subgraphs: Object.entries(urls).map(([name, url]) => ({ name, url })),
          pollIntervalInMs: config.gateway.pollIntervalMs,
        })
      : supergraphFromFile(config.gateway.supergraphPath, logger),
    buildService: ({ name, url }) => new ForwardingDataSource({ url: urls[name] ?? url, fetcher }),
    logger: logger.child({ component: 'apollo-gateway' }),
  });

  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    ...platformApolloOptions({
      logger,
      metrics,
      introspection: config.gateway.introspection,
      sandbox: config.gateway.sandbox,
    }),
  });
  // Subscriptions are planned here (the gateway executes none); kept in step with the supergraph.
  const planner = new SubscriptionPlanner();
  gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => planner.update(coreSupergraphSdl, apiSchema));
  await apollo.start();

  for (const [name, url] of Object.entries(urls)) {
    const health = new URL('/healthz', url).toString();
    readiness.register(`subgraph:${name}`, async () => {
      const response = await fetch(health, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
      return response.ok ? { ok: true, url } : { ok: false, url, detail: `HTTP ${response.status}` };
    });
  }

  const http = new HttpService({
    config,
    logger,
    metrics,
    readiness,
    compression: true,
    sandbox: config.gateway.sandbox,
  });
  http.registerRoute('/graphql');
  http.app.use(
    '/graphql',
    ...http.jsonBody(),
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
      services: Object.fromEntries(
        // The same pool (and in-flight dedupe) as queries: subscribers of one event who fetch the same
        // entities with the same credentials share one call.
        Object.entries(urls).map(([name, url]) => [name, new ForwardingDataSource({ url, fetcher })]),
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
    await stopTracing();
    throw error;
  }

  let port: number;
  try {
    port = await http.listen(options.port ?? config.gateway.port);
  } catch (error) {
    await subscriptions.close();
    await apollo.stop();
    await stopTracing();
    throw error;
  }
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
        await stopTracing();
      })()),
  };
}
