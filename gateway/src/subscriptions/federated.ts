import { randomUUID } from 'node:crypto';
import { buildOperationContext, executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import type { FetchNode } from '@apollo/query-planner';
import { context as otelContext } from '@opentelemetry/api';
import { GraphQLError, type ExecutionArgs, type ExecutionResult, type FormattedExecutionResult } from 'graphql';
import { mapStream, PERMISSIONS_EXTENSION, type Logger } from '@platform/kernel';
import type { GatewayContext } from '../data-source.js';
import type { SubscriptionPlanner } from './planner.js';
import type { SharedFetches } from './sharing/shared-fetches.js';
import { UNAVAILABLE, type UpstreamConnections } from './upstream.js';

/** The name the plan gives the event source, so the rest of the plan can still fetch from the same subgraph. */
const EVENT_SOURCE = '__subscription_event__';

type RequestContext = Parameters<typeof executeQueryPlan>[2];

export interface FederatedSubscriptionOptions {
  planner: SubscriptionPlanner;
  /** Data sources of every subgraph, for the entity fetches that complete each event. */
  services: ServiceMap;
  /** Entity answers shared by subscribers of one event with the same credentials. */
  shared: SharedFetches;
  logger: Logger;
}

/** What the caller (one socket, or a group of identical callers) lends a subscription. */
export interface SocketSession {
  upstream: UpstreamConnections;
  /** The gateway context subgraph fetches carry (the client's authorization, address, agent). */
  gatewayContext(): GatewayContext;
  /** Told of each event sent: the field and when it was published upstream (epoch ms, if known). */
  delivered(field: string, publishedAt: number | undefined): void;
  /** Whether to complete this upstream event at all (a shared group's carriers skip events another brought). */
  accept?(event: FormattedExecutionResult): boolean;
  /**
   * For a shared group: entity fetches ask in shared-answer mode, and must be answered for the
   * same permission set as the event (`fingerprint()`); any other answer is refused (`mismatch`).
   */
  shared?: { fingerprint(): string | undefined; mismatch(): void };
}

/**
 * Runs a subscription across subgraphs: the planner splits off the root field, which its
 * subgraph streams over the caller's own upstream socket; each event is then completed with the
 * fields other subgraphs own (e.g. `postCreated { author { displayName } }` from identity) by
 * @apollo/gateway's `executeQueryPlan`, with the event standing in for the root fetch.
 */
export function federatedSubscribe(
  options: FederatedSubscriptionOptions,
  session: SocketSession,
  args: ExecutionArgs,
): AsyncIterableIterator<ExecutionResult | FormattedExecutionResult> | ExecutionResult {
  const { planner } = options;
  const operationName = args.operationName ?? undefined;
  const variables = (args.variableValues ?? {}) as Record<string, unknown>;
  let plan;
  try {
    plan = planner.plan(args.document, operationName);
  } catch (error) {
    options.logger.warn({ err: error }, 'subscription could not be planned');
    return { errors: [new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
  }
  const { primary, rest } = plan;
  const operationContext = buildOperationContext({
    schema: planner.clientSchema ?? args.schema,
    operationDocument: args.document,
    operationName,
  });
  const field = rootFieldName(operationContext.operation);
  const upstreamVariables = Object.fromEntries(
    (primary.variableUsages ?? []).filter((name) => name in variables).map((name) => [name, variables[name]]),
  );
  const source = session.upstream.subscribe(primary.serviceName, {
    query: primary.operation,
    variables: upstreamVariables,
    operationName: primary.operationName,
  });
  const eventFetch: FetchNode = { ...primary, serviceName: EVENT_SOURCE };
  const queryPlan = {
    kind: 'QueryPlan' as const,
    node: rest ? { kind: 'Sequence' as const, nodes: [eventFetch, rest] } : eventFetch,
  };

  const services = session.shared ? verifiedServices(options.services, session.shared) : options.services;

  return mapStream(source, async (event, stop) => {
    if (session.accept && !session.accept(event)) return undefined;
    const publishedAt = typeof event.extensions?.publishedAt === 'number' ? event.extensions.publishedAt : undefined;
    if (!event.data) {
      // The subgraph refused or failed this event (its errors are already masked): pass them on, and stop.
      stop();
      return { errors: event.errors ?? [] };
    }
    const eventSource: GraphQLDataSource = {
      process: async () => ({ data: event.data, ...(event.errors ? { errors: event.errors } : {}) }),
    };
    const gatewayContext: GatewayContext = {
      ...session.gatewayContext(),
      requestId: randomUUID(),
      trace: otelContext.active(),
      ...(session.shared ? { sharedAnswer: true } : {}),
    };
    const requestContext = {
      request: { query: '', variables, operationName },
      context: gatewayContext,
      logger: options.logger,
      metrics: {},
      operationName: operationName ?? null,
      operation: operationContext.operation,
      document: args.document,
    } as unknown as RequestContext;
    const result = await executeQueryPlan(
      queryPlan,
      {
        // One event is one publication of one document: its time and the root field's data identify it.
        ...options.shared.services(
          services,
          publishedAt === undefined ? undefined : `${publishedAt}:${primary.operation}:${JSON.stringify(event.data)}`,
        ),
        [EVENT_SOURCE]: eventSource,
      },
      requestContext,
      operationContext,
      planner.supergraphSchema,
      planner.apiSchema,
    );
    session.delivered(field, publishedAt);
    return result;
  });
}

/**
 * The data sources of a shared group's completions: each answer must have been made for the same
 * permission set as the event it completes (the subgraph names the set it used, when it used
 * one); any other is dropped and the group told, so no result mixes two sets.
 */
function verifiedServices(
  services: ServiceMap,
  shared: { fingerprint(): string | undefined; mismatch(): void },
): ServiceMap {
  return Object.fromEntries(
    Object.entries(services).map(([name, source]): [string, GraphQLDataSource] => [
      name,
      {
        process: async (options) => {
          const response = await source.process(options);
          const used = response.extensions?.[PERMISSIONS_EXTENSION];
          if (used === undefined || used === shared.fingerprint()) return response;
          shared.mismatch();
          // In place of an answer made for another permission set: the masked internal error.
          return UNAVAILABLE as typeof response;
        },
      },
    ]),
  );
}

function rootFieldName(operation: {
  selectionSet: { selections: ReadonlyArray<{ kind: string; name?: { value: string } }> };
}): string {
  const first = operation.selectionSet.selections.find((selection) => selection.kind === 'Field');
  return first?.name?.value ?? 'unknown';
}
