import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { context as otelContext } from '@opentelemetry/api';
import { currentRequest, type Logger, type PlatformConfig } from '@platform/kernel';
import {
  closeRedis,
  createErrorBus,
  createLogger,
  createRedis,
  HttpService,
  loadConfig,
  platformApolloOptions,
  Readiness,
  ServiceMetrics,
  SubgraphFetchMetrics,
  startTracing,
  type ErrorBus,
  type ServiceHandle,
  bytesOf,
  jwksCheck,
  redisCheck,
  runAsService,
  serviceCredential,
  serviceSecret,
  tokenLimit,
  Teardown,
} from '@platform/kernel/gateway';
import { explorerRoutes } from './explorer.js';
import { forwardFiles } from './files-proxy.js';
import { forwardOidc, OIDC_PATHS } from './oidc-proxy.js';
import { GatewayRateLimits } from './limits/rate-limits.js';
import { SocketRegistry } from './subscriptions/connections.js';
import { startGatewayAuth, type GatewayAuth } from './subscriptions/revocations.js';
import { apiKeyEdge, apiKeyExchanger, type ApiKeyExchanger } from './api-keys.js';
import { ForwardingDataSource, type GatewayContext } from './data-source.js';
import { keepAliveFetcher } from './keep-alive-fetcher.js';
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
  const teardown = new Teardown(logger);
  try {
    teardown.add(startTracing(config, 'gateway'));
    const metrics = new ServiceMetrics('gateway');
    // Closed last (teardown runs in reverse): what the shutdown reports still reaches Sentry.
    const errors = await createErrorBus({ config, module: 'gateway', logger, metrics });
    teardown.add(() => errors.close(config.errors.sentry.flushTimeoutMs));
    const readiness = new Readiness();
    // Signs the client address passed on to subgraphs; read (or made) before anything else starts.
    const secret = serviceSecret(config);
    // Proves to subgraphs that the gateway is one of the deployment's services (`_service` for
    // composition, the token and permission services' internal routes).
    const credential = serviceCredential(secret);
    const federation = federate(config, logger, secret, credential, metrics, errors);
    const edge = await guardEdge(config, { logger, metrics, readiness, teardown, credential, errors });
    const apollo = await serveApollo(config, federation, edge, { logger, metrics, teardown, errors });
    registerSubgraphChecks(readiness, federation.urls);
    const http = serveHttp(config, apollo, edge, federation.urls, secret, {
      logger,
      metrics,
      readiness,
      credential,
      errors,
    });

    const subscriptions = await startGatewaySubscriptions({
      server: http.server,
      config,
      logger,
      errors,
      metrics,
      planner: federation.planner,
      urls: federation.urls,
      auth: edge.auth,
      registry: edge.sockets,
      rateLimits: edge.rateLimits,
      apiKeys: edge.apiKeys,
      credential,
      // The same pool (and in-flight dedupe) as queries: subscribers of one event who fetch the
      // same entities with the same credentials share one call.
      services: Object.fromEntries(Object.keys(federation.urls).map((name) => [name, federation.dataSource(name)])),
      executeOperation: async (request, contextValue) => {
        const response = await apollo.executeOperation(request, { contextValue });
        return response.body.kind === 'single'
          ? response.body.singleResult
          : { errors: [{ message: 'Incremental delivery is not supported over WebSocket' }] };
      },
    });
    let closing: Promise<void> | undefined;
    const closeSubscriptions = (): Promise<void> => (closing ??= subscriptions.close());
    teardown.add(closeSubscriptions);

    const port = await http.listen(options.port ?? config.gateway.port);
    // Sockets first (1001 "going away", upstream sockets closed), then HTTP drains: teardown runs in reverse.
    teardown.add(() => http.close());
    teardown.add(closeSubscriptions);
    readiness.exposeMetrics(metrics.registry);
    readiness.markStarted();
    const baseUrl = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
    logger.info({ url: `${baseUrl}/graphql` }, 'gateway ready');
    return {
      name: 'gateway',
      port,
      baseUrl,
      url: `${baseUrl}/graphql`,
      logger,
      errors,
      subscriptionStats: () => subscriptions.stats(),
      stop: () => teardown.run(),
    };
  } catch (error) {
    await teardown.run();
    throw error;
  }
}

/** How the gateway reaches the subgraphs: @apollo/gateway over the supergraph, and the planner of its subscriptions. */
interface Federation {
  gateway: ApolloGateway;
  /** Each subgraph's GraphQL URL, by name. */
  urls: Record<string, string>;
  /** A data source to one subgraph, on the shared keep-alive pool. */
  dataSource(name: string): ForwardingDataSource;
  planner: SubscriptionPlanner;
}

function federate(
  config: PlatformConfig,
  logger: Logger,
  secret: string,
  credential: string,
  metrics: ServiceMetrics,
  errors: ErrorBus,
): Federation {
  const urls = Object.fromEntries(Object.entries(config.services).map(([name, service]) => [name, service.url!]));
  // One keep-alive pool for every subgraph call (see keepAliveFetcher).
  const fetcher = keepAliveFetcher({
    timeoutMs: config.gateway.subgraphTimeoutMs,
    dedupeQueries: config.gateway.dedupeInflightQueries,
    maxResponseBytes: bytesOf(config.gateway.limits.maxResponseBytes),
  });
  const fetches = new SubgraphFetchMetrics(metrics, Object.keys(urls));
  const dataSource = (name: string, url?: string): ForwardingDataSource =>
    new ForwardingDataSource({
      url: urls[name] ?? url ?? '',
      fetcher: fetches.timed(name, fetcher),
      clientAddressSecret: secret,
      credential,
      failures: { subgraph: name, logger, errors },
    });
  const gateway = new ApolloGateway({
    supergraphSdl: config.gateway.introspectAndCompose
      ? new IntrospectAndCompose({
          subgraphs: Object.entries(urls).map(([name, url]) => ({ name, url })),
          pollIntervalInMs: config.gateway.pollIntervalMs,
        })
      : supergraphFromFile(config.gateway.supergraphPath, logger),
    buildService: ({ name, url }) => dataSource(name, url),
    logger: logger.child({ component: 'apollo-gateway' }),
  });
  // Subscriptions are planned here (the gateway executes none); kept in step with the supergraph.
  const planner = new SubscriptionPlanner();
  gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => planner.update(coreSupergraphSdl, apiSchema));
  return { gateway, urls, dataSource, planner };
}

interface StepOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  teardown: Teardown;
  credential: string;
  errors: ErrorBus;
}

/** What guards the edge: verified callers, their sockets, and rate limits. */
interface Edge {
  auth: GatewayAuth;
  sockets: SocketRegistry;
  rateLimits: GatewayRateLimits;
  /** API keys traded for restricted tokens, on `/graphql` and at `connection_init`. */
  apiKeys: ApiKeyExchanger;
}

/**
 * Tokens are verified here too: rate limits count signed-in callers per user, and sockets are
 * refused or closed when their session is revoked. Rate counters are in Redis when configured,
 * with a short command timeout, so a slow Redis never holds a request (each instance then counts
 * in its own memory until Redis answers again).
 */
async function guardEdge(config: PlatformConfig, options: StepOptions): Promise<Edge> {
  const { logger, metrics, readiness, teardown } = options;
  const sockets = new SocketRegistry(config.gateway.subscriptions.maxConnectionsPerUser);
  const auth = await startGatewayAuth(
    config,
    sockets,
    logger.child({ component: 'subscriptions' }),
    options.credential,
  );
  teardown.add(() => auth.close());
  const { sync, jwksUrl } = auth;
  if (sync) readiness.register('revocations', () => sync.status(), { critical: false });
  if (jwksUrl) readiness.register('jwks', () => jwksCheck(jwksUrl), { critical: false });
  const redis = config.redis.url
    ? createRedis(config.redis.url, {
        name: 'gateway',
        logger,
        commandTimeoutMs: 500,
        onError: () => metrics.dependencyErrors.inc({ dependency: 'redis' }),
      })
    : undefined;
  if (redis) {
    teardown.add(() => closeRedis(redis));
    readiness.register('redis', () => redisCheck(redis), { critical: false });
  }
  const rateLimits = new GatewayRateLimits({ config, redis, verifier: auth.verifier, logger, metrics });
  const apiKeys = apiKeyExchanger({ config, verifier: auth.verifier, credential: options.credential });
  return { auth, sockets, rateLimits, apiKeys };
}

async function serveApollo(
  config: PlatformConfig,
  federation: Federation,
  edge: Edge,
  options: Pick<StepOptions, 'logger' | 'metrics' | 'teardown' | 'errors'>,
): Promise<ApolloServer<GatewayContext>> {
  const apollo = new ApolloServer<GatewayContext>({
    gateway: federation.gateway,
    ...platformApolloOptions({
      logger: options.logger,
      metrics: options.metrics,
      introspection: config.gateway.introspection,
      // Apollo's landing page is Sandbox's; GraphiQL is served before Apollo (serveHttp).
      sandbox: config.gateway.explorer === 'sandbox',
      limits: config.gateway.limits,
      errors: options.errors,
      plugins: [edge.rateLimits.plugin() as never],
    }),
  });
  await apollo.start();
  options.teardown.add(() => apollo.stop());
  return apollo;
}

/**
 * Each subgraph's reachability on `/ready`. Reported, not critical: a subgraph without a live
 * instance fails only the fields it serves, and a gateway taken out of its load balancer for it
 * would fail every other field too.
 */
function registerSubgraphChecks(readiness: Readiness, urls: Record<string, string>): void {
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
}

/**
 * `/graphql` behind the rate limits and the body and token limits, with health and metrics beside
 * it, GraphiQL on `/graphiql` (and on `/graphql` for browsers when it is the explorer), and local
 * file storage's signed URLs (`/files/<module>/…`) forwarded to their subgraphs, and the OpenID
 * Connect provider's paths (gateway/src/oidc-proxy.ts) forwarded to identity.
 */
function serveHttp(
  config: PlatformConfig,
  apollo: ApolloServer<GatewayContext>,
  edge: Edge,
  urls: Record<string, string>,
  secret: string,
  options: Omit<StepOptions, 'teardown'>,
): HttpService {
  const { logger, metrics, readiness, credential, errors } = options;
  const http = new HttpService({
    config,
    logger,
    metrics,
    readiness,
    compression: true,
    errors,
    sandbox: config.gateway.explorer === 'sandbox',
    metricsCredential: config.metrics.requireCredential ? credential : undefined,
    onCredentialRefused: (path, presented) => {
      metrics.credentialRefusals.inc({ route: path });
      logger.warn({ path, presented }, 'metrics scraped without the service credential');
    },
  });
  http.registerRoute('/graphql');
  const explorer = explorerRoutes({ mode: config.gateway.explorer, logger: logger.child({ component: 'explorer' }) });
  if (explorer) {
    http.registerRoute('/graphiql');
    http.app.use('/graphiql', explorer.page);
    http.app.get('/graphql', explorer.landing);
  }
  http.app.use(
    '/graphql',
    edge.rateLimits.middleware(),
    // After the limits, so guessing keys costs the guesser's address its budget.
    apiKeyEdge(edge.apiKeys, logger.child({ component: 'api-keys' })),
    ...http.jsonBody(),
    tokenLimit(config.gateway.limits, metrics),
    expressMiddleware(apollo, {
      context: async ({ req }) => ({
        requestId: currentRequest()?.requestId ?? 'unknown',
        authorization: req.headers.authorization,
        clientIp: currentRequest()?.ip,
        userAgent: req.get('user-agent'),
        locale: currentRequest()?.locale,
        trace: otelContext.active(),
      }),
    }),
  );
  if (config.files.driver === 'local') {
    http.app.use('/files', forwardFiles(urls, logger));
  }
  // The OpenID Connect provider (identity) on this origin, the issuer; within the address's budget.
  const identityUrl = urls[config.auth.tokenService];
  if (identityUrl) {
    const oidc = forwardOidc(identityUrl, secret, logger.child({ component: 'oidc-proxy' }));
    for (const path of OIDC_PATHS) http.app.use(path, edge.rateLimits.middleware(), oidc);
  }
  http.finish();
  return http;
}
