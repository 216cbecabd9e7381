import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, print, type ExecutionArgs, type ExecutionResult, type FormattedExecutionResult } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { WebSocket } from 'ws';
import type { ServiceMap } from '@apollo/gateway';
import { type ErrorReporter, type Logger, type PlatformConfig } from '@platform/kernel';
import {
  ipBucket,
  attachWebSocketServer,
  mapStream,
  maskResult,
  permissionServiceOrigin,
  requestAddress,
  type ServiceMetrics,
} from '@platform/kernel/gateway';
import type { GatewayContext } from '../data-source.js';
import type { GatewayRateLimits } from '../limits/rate-limits.js';
import { OperationAdmission, upgradeAdmission } from './admission.js';
import { ClientSockets, type SocketContext, type SocketState } from './client-sockets.js';
import type { SocketRegistry } from './connections.js';
import type { DeliveryOptions, Subscriber, SubscriptionDelivery } from './delivery.js';
import { federatedSubscribe } from './federated.js';
import { frameSink } from './frames.js';
import { SubscriptionMetrics } from './metrics.js';
import { CallerSubscriptions } from './per-caller.js';
import type { SubscriptionPlanner } from './planner.js';
import type { ApiKeyExchanger } from '../api-keys.js';
import type { GatewayAuth } from './revocations.js';
import { startSubscriptionSharing } from './sharing/index.js';

/** Live counts, for tests proving that nothing outlives its client. */
export interface GatewaySubscriptionStats {
  /** Client sockets open (including those not yet initialised). */
  sockets: number;
  /** Client sockets acknowledged and registered. */
  connections: number;
  subscriptions: number;
  /** Upstream sockets to subgraphs open. */
  upstreamSockets: number;
}

export interface GatewaySubscriptions {
  stats(): GatewaySubscriptionStats;
  close(): Promise<void>;
}

export interface GatewaySubscriptionsOptions {
  server: Server;
  config: PlatformConfig;
  logger: Logger;
  /** Where unexpected errors of subscription events are published; without it they are only logged. */
  errors?: ErrorReporter;
  metrics: ServiceMetrics;
  planner: SubscriptionPlanner;
  /** Subgraph name → GraphQL URL. */
  urls: Readonly<Record<string, string>>;
  /** Data sources for the entity fetches that complete events. */
  services: ServiceMap;
  /** Token verification and revocations (the gateway's; closed by its owner). */
  auth: GatewayAuth;
  /** Open client sockets by user (revoked sessions' sockets are closed through it). */
  registry: SocketRegistry;
  /** Operations per caller, counted for every operation a socket starts. */
  rateLimits: GatewayRateLimits;
  /** The deployment's service credential (the permission service's internal route). */
  credential: string;
  /** API keys in `connection_init` (`x-api-key`, or `authorization: Bearer <key>`) are traded for their tokens. */
  apiKeys?: ApiKeyExchanger;
  /** Runs a query or mutation through the gateway's own executor, as over HTTP. */
  executeOperation(
    request: { query: string; variables?: Record<string, unknown>; operationName?: string },
    context: GatewayContext,
  ): Promise<FormattedExecutionResult>;
}

/** An operation's context value: its socket's state, and where a subscription's frames go. */
interface OperationContext {
  readonly state: SocketState;
  readonly socket: WebSocket;
  /** The client's id for the operation (its `next` frames carry it). */
  readonly id: string;
}

type SocketServerOptions = ServerOptions<Record<string, unknown>, Extra & { state?: SocketState }>;

/**
 * graphql-ws on the gateway's `/graphql` (same port as HTTP). `connection_init` carries
 * `{ authorization: "Bearer <token>" }` (or nothing, for a guest). Subscriptions are planned
 * across subgraphs (see federatedSubscribe) and run shared (sharing/) or each on its own
 * (per-caller.ts), as `gateway.subscriptions.sharing` says; queries and mutations run through the
 * gateway's executor exactly as over HTTP. Sockets close with 4401 when the token is invalid or
 * expires, 4403 when the session is revoked, 4429 over the per-user connection limit, 4408
 * without `connection_init` in time.
 */
export async function startGatewaySubscriptions(options: GatewaySubscriptionsOptions): Promise<GatewaySubscriptions> {
  const { config, rateLimits } = options;
  const limits = config.gateway.subscriptions;
  const log = options.logger.child({ component: 'subscriptions' });
  const metrics = new SubscriptionMetrics(options.metrics.registry);
  const addressOf = (request: IncomingMessage): string | undefined =>
    requestAddress(request, config.http.trustedProxies);
  const sockets = attachWebSocketServer(options.server, '/graphql', {
    keepAliveMs: limits.keepAliveMs,
    admit: upgradeAdmission(config, rateLimits, addressOf),
    perAddress: {
      max: limits.maxConnectionsPerAddress,
      addressOf: (request) => {
        const address = addressOf(request);
        return address === undefined ? undefined : ipBucket(address);
      },
    },
  });
  const clients = new ClientSockets({
    auth: options.auth,
    apiKeys: options.apiKeys,
    registry: options.registry,
    maxConnectionsPerUser: limits.maxConnectionsPerUser,
    metrics,
    logger: log,
    addressOf,
  });
  const admission = new OperationAdmission({ ...options, sockets: clients });
  const delivery = await startDelivery(options, log, metrics);
  const subscriptions = new SubscriptionCount(metrics);

  const disposable = useServer(
    socketServerOptions(options, log, clients, admission, async (args) => {
      const { state, socket, id } = args.contextValue as OperationContext;
      const subscriber: Subscriber = {
        user: state.user,
        identity: state.identity,
        send: frameSink(socket, id, () => metrics.dropped.inc()),
        closeSocket: state.close,
      };
      return subscriptions.follow(await delivery.subscribe(subscriber, args));
    }),
    sockets.wss,
    0, // the socket server pings (jittered), not graphql-ws
  );

  return {
    stats: () => ({
      sockets: sockets.size,
      connections: options.registry.size,
      subscriptions: subscriptions.size,
      upstreamSockets: delivery.stats().upstreamSockets,
    }),
    close: async () => {
      // graphql-ws closes its sockets (1001) and the server; then nothing may upgrade any more.
      await disposable.dispose();
      await sockets.close();
      await delivery.close();
    },
  };
}

/** What runs subscriptions: sharing (the default), or each on its own when `gateway.subscriptions.sharing` is off. */
async function startDelivery(
  options: GatewaySubscriptionsOptions,
  logger: Logger,
  metrics: SubscriptionMetrics,
): Promise<SubscriptionDelivery> {
  const { config, planner } = options;
  const deliveryOptions: DeliveryOptions = {
    urls: options.urls,
    logger,
    keepAliveMs: config.gateway.subscriptions.keepAliveMs,
    run: (session, args) => federatedSubscribe({ planner, services: options.services, logger }, session, args),
    // Masked like every other result the socket sends (onNext), then serialized once per event.
    serialize: (result) => JSON.stringify(maskResult(result, logger, undefined, options.errors)),
    delivered: (delivery, sockets, writeSeconds) => metrics.recordDelivery(delivery, sockets, writeSeconds),
  };
  if (!config.gateway.subscriptions.sharing) return new CallerSubscriptions(deliveryOptions);
  // Callers share answers by permission set: asked of the permission service (authz), as every subgraph does.
  const permissionService = permissionServiceOrigin(config);
  return startSubscriptionSharing({
    ...deliveryOptions,
    supergraph: () => planner.supergraphSchema,
    permissions: permissionService
      ? {
          url: permissionService,
          service: config.auth.permissionService,
          bus: options.auth.bus,
          ttlMs: config.auth.permissionCacheTtlSec * 1000,
          credential: options.credential,
        }
      : undefined,
  });
}

/** Subscriptions running (the stats and the gauge): counted from their start to their end. */
class SubscriptionCount {
  readonly #metrics: SubscriptionMetrics;
  #size = 0;

  constructor(metrics: SubscriptionMetrics) {
    this.#metrics = metrics;
  }

  get size(): number {
    return this.#size;
  }

  /** Counts `stream` until it ends. graphql-ws only sees its end (then sends `complete`): the frames are written apart. */
  follow(stream: AsyncIterableIterator<never>): AsyncIterableIterator<ExecutionResult> {
    this.#size++;
    this.#metrics.subscriptions.inc();
    return mapStream(
      stream,
      (value): ExecutionResult => value,
      () => {
        this.#size--;
        this.#metrics.subscriptions.dec();
      },
    );
  }
}

/** graphql-ws's side: sockets admitted and forgotten, operations admitted, subscriptions and the rest run. */
function socketServerOptions(
  options: GatewaySubscriptionsOptions,
  log: Logger,
  clients: ClientSockets,
  admission: OperationAdmission,
  subscribe: (args: ExecutionArgs) => Promise<AsyncIterableIterator<ExecutionResult>>,
): SocketServerOptions {
  const { planner } = options;
  return {
    schema: () => {
      if (!planner.clientSchema) throw new Error('supergraph not loaded');
      return planner.clientSchema;
    },
    connectionInitWaitTimeout: options.config.gateway.subscriptions.connectionInitTimeoutMs,
    context: (ctx: SocketContext, id): OperationContext => ({ state: ctx.extra.state!, socket: ctx.extra.socket, id }),
    onConnect: (ctx: SocketContext) => clients.connect(ctx),
    onClose: (ctx: SocketContext) => clients.disconnect(ctx),
    async onSubscribe(ctx: SocketContext, _id, payload) {
      const state = ctx.extra.state;
      if (!state) return [new GraphQLError('Connection not initialised', { extensions: { code: 'UNAUTHENTICATED' } })];
      return admission.admit(state, payload);
    },
    subscribe,
    // Results may carry subgraph errors already formatted; onNext masks and formats both kinds.
    execute: (args) =>
      options.executeOperation(
        {
          query: print(args.document),
          variables: (args.variableValues ?? undefined) as Record<string, unknown> | undefined,
          operationName: args.operationName ?? undefined,
        },
        (args.contextValue as OperationContext).state.gatewayContext(),
      ) as Promise<ExecutionResult>,
    onNext: (_ctx, _id, _payload, _args, result): FormattedExecutionResult =>
      maskResult(result, log, undefined, options.errors),
  };
}
