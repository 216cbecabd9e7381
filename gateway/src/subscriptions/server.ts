import type { IncomingMessage, Server } from 'node:http';
import {
  getOperationAST,
  GraphQLError,
  parse,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
} from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { WebSocket } from 'ws';
import { context as otelContext } from '@opentelemetry/api';
import type { ServiceMap } from '@apollo/gateway';
import {
  admitSocket,
  attachWebSocketServer,
  CloseCode,
  ipBucket,
  PlatformError,
  QueryTooComplexError,
  validateSafely,
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
import { checkOperation, checkTokens, rateLimitError, requestAddress } from '@platform/kernel/gateway';
import { randomUUID } from 'node:crypto';
import type { GatewayContext } from '../data-source.js';
import type { GatewayRateLimits } from '../limits/rate-limits.js';
import { TOO_MANY_CONNECTIONS, type RegisteredSocket, type SocketRegistry } from './connections.js';
import { federatedSubscribe, type SocketSession } from './federated.js';
import { frameSink } from './frames.js';
import { SubscriptionMetrics } from './metrics.js';
import { SharedFetches } from './sharing/shared-fetches.js';
import type { SubscriptionPlanner } from './planner.js';
import type { GatewayAuth } from './revocations.js';
import { PermissionSets } from './sharing/permission-sets.js';
import { Placements } from './sharing/placements.js';
import { SubscriptionGroups, type GroupSpec, type StartCarrier } from './sharing/subscription-groups.js';
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
  /** Token verification and revocations (the gateway's; closed by its owner). */
  auth: GatewayAuth;
  /** Open client sockets by user (revoked sessions' sockets are closed through it). */
  registry: SocketRegistry;
  /** Operations per caller, counted for every operation a socket starts. */
  rateLimits: GatewayRateLimits;
  /** The deployment's service credential (authz's internal route). */
  credential: string;
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
  /** The client address's bucket (an IPv6 /64 counts as one), for the per-address caps. */
  readonly address: string | undefined;
  /** The socket's operations running now (graphql-ws's own record). */
  operations(): number;
  /** Operations refused on this socket so far (limits, rate budgets); too many closes it. */
  refusals: number;
  stop(): void;
}

/**
 * Operations a socket may have refused before it is closed (4429): a client that keeps sending
 * what it is refused is flooding, and each refusal still costs the gateway a message to read.
 */
const MAX_REFUSALS_PER_SOCKET = 20;
const TOO_MANY_REFUSALS: CloseReason = {
  code: CloseCode.TooManyConnections,
  reason: `Too many refused operations: at most ${MAX_REFUSALS_PER_SOCKET} per connection`,
};

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

const tooManyFromAddress = (max: number): GraphQLError =>
  new GraphQLError(`Too many operations from this address: at most ${max} at once`, {
    extensions: { code: 'RATE_LIMITED', limit: max },
  });

/** A foreign page may not open a socket in its visitor's name: its `Origin` must be allowed (as for CORS). */
function originRefusal(
  origins: readonly string[],
): (request: IncomingMessage) => { status: number; reason: string } | undefined {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (request) => {
    const origin = request.headers.origin;
    // Non-browser clients send no Origin; a browser always does, and cannot forge it.
    if (any || origin === undefined || allowed.has(origin)) return undefined;
    return { status: 403, reason: `Origin ${origin} is not allowed` };
  };
}

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
  const { auth, registry, rateLimits } = options;
  const addressOf = (request: IncomingMessage): string | undefined =>
    requestAddress(request, config.http.trustedProxies);
  const foreignOrigin = originRefusal(config.http.cors.origins);
  const sockets = attachWebSocketServer(options.server, '/graphql', {
    keepAliveMs: limits.keepAliveMs,
    // A foreign page is refused; an upgrade counts against its address's budget like a request.
    admit: async (request) => {
      const foreign = foreignOrigin(request);
      if (foreign) return foreign;
      const standing = await rateLimits.countCaller({ ip: addressOf(request) });
      if (!standing?.refused) return undefined;
      return {
        status: 429,
        reason: `Too many requests; retry in ${standing.resetSec} s`,
        headers: [`Retry-After: ${standing.resetSec}`],
      };
    },
    perAddress: {
      max: limits.maxConnectionsPerAddress,
      addressOf: (request) => {
        const address = addressOf(request);
        return address === undefined ? undefined : ipBucket(address);
      },
    },
  });
  /** Sockets registered per address bucket, for the per-address operation cap. */
  const byAddress = new Map<string, Set<SocketState>>();
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
        credential: options.credential,
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

  /** The socket's and its address's caps, the caller's rate budget, then the operation's limits. */
  const admitOperation = async (
    ctx: SocketContext,
    state: SocketState,
    payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  ): Promise<ExecutionArgs | readonly GraphQLError[]> => {
    if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerConnection) {
      return [tooManySubscriptions(limits.maxSubscriptionsPerConnection)];
    }
    const neighbours = state.address === undefined ? [] : [...(byAddress.get(state.address) ?? [])];
    const running = neighbours.reduce((sum, socket) => sum + socket.operations(), 0);
    if (running > limits.maxSubscriptionsPerAddress) return [tooManyFromAddress(limits.maxSubscriptionsPerAddress)];
    const standing = await rateLimits.countCaller({ userId: state.user?.id, ip: state.identity.clientIp });
    if (standing?.refused) return [rateLimitError(standing, 'operations')];
    return checkedOperation(payload, state);
  };

  /**
   * What graphql-ws would do with a message (parse, validate, pick the operation), with the same
   * limits as over HTTP first: tokens before parsing, the operation's shape and cost after.
   * Refusals are `error` messages; the socket stays open.
   */
  const checkedOperation = async (
    payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
    state: SocketState,
  ): Promise<ExecutionArgs | readonly GraphQLError[]> => {
    const schema = planner.clientSchema;
    if (!schema) return [new GraphQLError('The supergraph is not loaded yet', { extensions: { code: 'UNAVAILABLE' } })];
    let document: DocumentNode;
    try {
      checkTokens(payload.query, config.gateway.limits);
      document = parse(payload.query);
    } catch (error) {
      return [refusal(error, 'GRAPHQL_PARSE_FAILED', options.metrics)];
    }
    // graphql-js 16's validate throws on `@skip`/`@include` at a subscription's root: the kernel's
    // validateSafely reports it instead.
    const invalid = validateSafely(schema, document);
    if (invalid.length > 0) {
      return invalid.map(
        (error) =>
          new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
      );
    }
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return [new GraphQLError('Unable to identify operation', { extensions: { code: 'BAD_REQUEST' } })];
    const variables = payload.variables ?? undefined;
    try {
      checkOperation(schema, document, operation, variables, config.gateway.limits);
    } catch (error) {
      return [refusal(error, 'BAD_REQUEST', options.metrics)];
    }
    // Queries and mutations run through the gateway's executor, whose plugin counts their fields.
    if (operation.operation === 'subscription') {
      const refused = await rateLimits.countFields(schema, document, operation, variables, state.identity.clientIp);
      if (refused) return [refused];
    }
    return { schema, document, operationName: payload.operationName, variableValues: variables };
  };

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
        const clientIp = addressOf(request);
        const address = clientIp === undefined ? undefined : ipBucket(clientIp);
        const identity = {
          authorization: user ? `Bearer ${user.token}` : undefined,
          requestId: randomUUID(),
          clientIp,
          userAgent: request.headers['user-agent'],
        };
        let stopExpiry = (): void => {};
        const state: SocketState = {
          user,
          identity,
          address,
          close,
          operations: () => Object.keys(ctx.subscriptions).length,
          refusals: 0,
          gatewayContext: () => ({ ...identity, requestId: randomUUID(), trace: otelContext.active() }),
          // The socket's subscriptions (and so its share of upstream groups) end with it.
          stop: () => {
            stopExpiry();
            registry.remove(state);
            const mine = address === undefined ? undefined : byAddress.get(address);
            mine?.delete(state);
            if (mine?.size === 0) byAddress.delete(address!);
          },
        };
        if (!registry.add(state)) {
          close(TOO_MANY_CONNECTIONS(limits.maxConnectionsPerUser));
          return false;
        }
        if (address !== undefined) byAddress.set(address, (byAddress.get(address) ?? new Set()).add(state));
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
      async onSubscribe(ctx: SocketContext, _id, payload) {
        const state = ctx.extra.state;
        if (!state)
          return [new GraphQLError('Connection not initialised', { extensions: { code: 'UNAUTHENTICATED' } })];
        const admitted = await admitOperation(ctx, state, payload);
        if (!Array.isArray(admitted)) return admitted;
        if (++state.refusals >= MAX_REFUSALS_PER_SOCKET) state.close(TOO_MANY_REFUSALS);
        return admitted;
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
    },
  };
}

/** A limit's own error as it is (and counted); anything else (a syntax error) as a coded GraphQL error. */
function refusal(error: unknown, code: string, metrics: ServiceMetrics): GraphQLError {
  if (error instanceof QueryTooComplexError) metrics.refusals.inc({ reason: error.limit });
  if (error instanceof PlatformError) {
    const { http: _http, ...extensions } = error.extensions;
    void _http;
    return new GraphQLError(error.message, { extensions });
  }
  if (error instanceof GraphQLError)
    return new GraphQLError(error.message, { nodes: error.nodes, extensions: { code } });
  throw error;
}
