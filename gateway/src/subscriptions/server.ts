import type { Server } from 'node:http';
import { GraphQLError, print, type ExecutionArgs, type ExecutionResult, type FormattedExecutionResult } from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { WebSocket } from 'ws';
import { context as otelContext } from '@opentelemetry/api';
import type { ServiceMap } from '@apollo/gateway';
import {
  admitSocket,
  attachWebSocketServer,
  EventStream,
  expiryTimer,
  mapStream,
  maskResult,
  TOKEN_EXPIRED,
  type CloseReason,
  type Logger,
  type PlatformConfig,
  type ServiceMetrics,
  type SocketUser,
} from '@platform/kernel';
import { randomUUID } from 'node:crypto';
import type { GatewayContext } from '../data-source.js';
import { SocketRegistry, TOO_MANY_CONNECTIONS, type RegisteredSocket } from './connections.js';
import { federatedSubscribe, type SocketSession } from './federated.js';
import { frameSink } from './frames.js';
import { SubscriptionMetrics } from './metrics.js';
import { SharedFetches } from './shared-fetches.js';
import type { SubscriptionPlanner } from './planner.js';
import { startGatewayAuth } from './revocations.js';
import { PermissionSets } from './permission-sets.js';
import { Placements } from './placements.js';
import { SubscriptionGroups, type GroupSpec, type StartCarrier } from './subscription-groups.js';
import type { UpstreamIdentity } from './upstream.js';

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
  metrics: ServiceMetrics;
  planner: SubscriptionPlanner;
  /** Subgraph name → GraphQL URL. */
  urls: Readonly<Record<string, string>>;
  /** Data sources for the entity fetches that complete events. */
  services: ServiceMap;
  /** Runs a query or mutation through the gateway's own executor, as over HTTP. */
  executeOperation(
    request: { query: string; variables?: Record<string, unknown>; operationName?: string },
    context: GatewayContext,
  ): Promise<FormattedExecutionResult>;
}

/** Per socket: who, what it forwards upstream, and how to end it. */
interface SocketState extends RegisteredSocket {
  /** The gateway context the socket's queries and mutations carry (its caller's credentials). */
  gatewayContext(): GatewayContext;
  readonly user: SocketUser | undefined;
  readonly identity: UpstreamIdentity;
  stop(): void;
}

type SocketContext = Context<Record<string, unknown>, Extra & { state?: SocketState }>;

/** An operation's context value: its socket's state, and where a subscription's frames go. */
interface OperationContext {
  readonly state: SocketState;
  readonly socket: WebSocket;
  /** The client's id for the operation (its `next` frames carry it). */
  readonly id: string;
}

const tooManySubscriptions = (max: number): GraphQLError =>
  new GraphQLError(`Too many operations on this connection: at most ${max} at once`, {
    extensions: { code: 'RATE_LIMITED', limit: max },
  });

/**
 * graphql-ws on the gateway's `/graphql` (same port as HTTP). `connection_init` carries
 * `{ authorization: "Bearer <token>" }` (or nothing, for a guest). Subscriptions are planned
 * across subgraphs (see federatedSubscribe); queries and mutations run through the gateway's
 * executor exactly as over HTTP. Sockets close with 4401 when the token is invalid or expires,
 * 4403 when the session is revoked, 4429 over the per-user connection limit, 4408 without
 * `connection_init` in time.
 */
export async function startGatewaySubscriptions(options: GatewaySubscriptionsOptions): Promise<GatewaySubscriptions> {
  const { config, planner } = options;
  const limits = config.gateway.subscriptions;
  const log = options.logger.child({ component: 'subscriptions' });
  const metrics = new SubscriptionMetrics(options.metrics.registry);
  const registry = new SocketRegistry(limits.maxConnectionsPerUser);
  const auth = await startGatewayAuth(config, registry, log);
  const sockets = attachWebSocketServer(options.server, '/graphql', { keepAliveMs: limits.keepAliveMs });
  let subscriptions = 0;
  let upstreamSockets = 0;
  const shared = new SharedFetches();
  const groups = new SubscriptionGroups({
    urls: options.urls,
    logger: log,
    keepAliveMs: limits.keepAliveMs,
    onSocket: (delta) => (upstreamSockets += delta),
    // Masked like every other result the socket sends (onNext below), then serialized once per event for every member.
    serialize: (result) => JSON.stringify(maskResult(result, log)),
    delivered: (delivery, sockets, writeSeconds) => {
      if (sockets > 0) metrics.fanOut.observe(writeSeconds);
      if (!delivery || sockets === 0) return;
      metrics.delivered.inc({ field: delivery.field }, sockets);
      if (delivery.publishedAt === undefined) return;
      const seconds = Math.max(0, Date.now() - delivery.publishedAt) / 1000;
      // Every socket of the group got the event at the same moment: one observation, not one per socket.
      metrics.latency.observe({ field: delivery.field }, seconds);
    },
  });

  const operationOf = (args: ExecutionArgs): OperationContext => args.contextValue as OperationContext;
  const stateOf = (args: ExecutionArgs): SocketState => operationOf(args).state;

  const authzUrl = options.urls.authz ? new URL(options.urls.authz).origin : undefined;
  const permissionTtlMs = config.auth.permissionCacheTtlSec * 1000;
  const permissionSets = authzUrl
    ? await PermissionSets.start({
        url: authzUrl,
        bus: auth.bus,
        logger: log,
        ttlMs: permissionTtlMs,
      })
    : undefined;

  /** The upstream subscription a group's carrier runs: the event from its subgraph, completed across the others. */
  const starter =
    (args: ExecutionArgs, spec: GroupSpec): StartCarrier =>
    (carrier) => {
      const session: SocketSession = {
        upstream: carrier.upstream,
        gatewayContext: () => ({ ...carrier.identity, requestId: randomUUID(), trace: otelContext.active() }),
        delivered: (field, publishedAt) => carrier.report({ field, publishedAt }),
        accept: carrier.accept,
        ...(spec.fingerprint ? { shared: { fingerprint: carrier.answerFingerprint, mismatch: carrier.mismatch } } : {}),
      };
      const result = federatedSubscribe({ planner, services: options.services, shared, logger: log }, session, args);
      if (Symbol.asyncIterator in result) return result;
      const once = new EventStream<ExecutionResult>(() => {});
      once.push(result);
      once.end();
      return once;
    };

  const placements = new Placements({
    supergraph: () => planner.supergraphSchema,
    permissionSets,
    sweepMs: permissionTtlMs,
    starter,
    logger: log,
  });

  // Results may carry subgraph errors already formatted; onNext masks and formats both kinds.
  const subscribe = async (args: ExecutionArgs): Promise<AsyncIterable<ExecutionResult>> => {
    const operation = operationOf(args);
    const { state } = operation;
    const text = print(args.document);
    const placement = await placements.place(state, args, text);
    // The group calls `stale` only once the subscription exists (an answer for another permission set).
    const membership = groups.join(placement.key, placement.spec, starter(args, placement.spec), {
      send: frameSink(operation.socket, operation.id, () => metrics.dropped.inc()).next,
      closeSocket: state.close,
      identity: state.identity,
      sessionId: state.user?.sessionId,
      stale: () => followed.stale(),
    });
    const followed = placements.follow(state, args, text, placement, membership);
    subscriptions++;
    metrics.subscriptions.inc();
    // graphql-ws only sees the end of it (and then sends `complete`): the group writes the frames.
    return mapStream(
      membership.stream,
      (value): ExecutionResult => value,
      () => {
        followed.end();
        subscriptions--;
        metrics.subscriptions.dec();
      },
    );
  };

  const disposable = useServer<Record<string, unknown>, { state?: SocketState }>(
    {
      schema: () => {
        if (!planner.clientSchema) throw new Error('supergraph not loaded');
        return planner.clientSchema;
      },
      connectionInitWaitTimeout: limits.connectionInitTimeoutMs,
      context: (ctx: SocketContext, id): OperationContext => ({
        state: ctx.extra.state!,
        socket: ctx.extra.socket,
        id,
      }),
      async onConnect(ctx: SocketContext) {
        const { socket, request } = ctx.extra;
        const close = (reason: CloseReason): void => {
          metrics.closed.inc({ code: String(reason.code) });
          socket.close(reason.code, reason.reason);
        };
        const admission = await admitSocket(auth.verifier, ctx.connectionParams, auth.revocations, log);
        // The client may have left while its token was checked: nothing to register then (onClose ran already).
        if (socket.readyState !== socket.OPEN) return false;
        if ('refused' in admission) {
          close(admission.refused);
          return false;
        }
        const { user } = admission;
        const identity = {
          authorization: user ? `Bearer ${user.token}` : undefined,
          requestId: randomUUID(),
          clientIp: request.socket.remoteAddress,
          userAgent: request.headers['user-agent'],
        };
        let stopExpiry = (): void => {};
        const state: SocketState = {
          user,
          identity,
          close,
          gatewayContext: () => ({ ...identity, requestId: randomUUID(), trace: otelContext.active() }),
          // The socket's subscriptions (and so its share of upstream groups) end with it.
          stop: () => {
            stopExpiry();
            registry.remove(state);
          },
        };
        if (!registry.add(state)) {
          close(TOO_MANY_CONNECTIONS(limits.maxConnectionsPerUser));
          return false;
        }
        metrics.connections.inc();
        stopExpiry = expiryTimer(user, () => close(TOKEN_EXPIRED));
        ctx.extra.state = state;
        return true;
      },
      async onClose(ctx: SocketContext) {
        const state = ctx.extra.state;
        if (!state) return;
        ctx.extra.state = undefined;
        metrics.connections.dec();
        state.stop();
      },
      onSubscribe(ctx: SocketContext) {
        if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerConnection) {
          return [tooManySubscriptions(limits.maxSubscriptionsPerConnection)];
        }
        return undefined;
      },
      subscribe,
      execute: (args) =>
        options.executeOperation(
          {
            query: print(args.document),
            variables: (args.variableValues ?? undefined) as Record<string, unknown> | undefined,
            operationName: args.operationName ?? undefined,
          },
          stateOf(args).gatewayContext(),
        ) as Promise<ExecutionResult>,
      onNext: (_ctx, _id, _payload, _args, result): FormattedExecutionResult => maskResult(result, log),
    },
    sockets.wss,
    0, // the socket server pings (jittered), not graphql-ws
  );

  return {
    stats: () => ({ sockets: sockets.size, connections: registry.size, subscriptions, upstreamSockets }),
    close: async () => {
      // graphql-ws closes its sockets (1001) and the server; then nothing may upgrade any more.
      await disposable.dispose();
      await sockets.close();
      placements.close();
      await permissionSets?.close();
      await auth.close();
    },
  };
}
