import { randomUUID } from 'node:crypto';
import { buildOperationContext, executeQueryPlan, type GraphQLDataSource, type ServiceMap } from '@apollo/gateway';
import type { FetchNode } from '@apollo/query-planner';
import { context as otelContext } from '@opentelemetry/api';
import { GraphQLError, type ExecutionArgs, type ExecutionResult, type FormattedExecutionResult } from 'graphql';
import { EventStream, type Logger } from '@platform/kernel';
import { mapStream } from '@platform/kernel/gateway';
import type { GatewayContext } from '../data-source.js';
import type { SubscriptionPlanner } from './planner.js';
import type { UpstreamConnections } from './upstream.js';

/** The name the plan gives the event source, so the rest of the plan can still fetch from the same subgraph. */
const EVENT_SOURCE = '__subscription_event__';

type RequestContext = Parameters<typeof executeQueryPlan>[2];

export interface FederatedSubscriptionOptions {
  planner: SubscriptionPlanner;
  /** Data sources of every subgraph, for the entity fetches that complete each event. */
  services: ServiceMap;
  logger: Logger;
}

/** A completed event (or a refusal), as a subscription's stream yields it. */
export type SubscriptionResult = ExecutionResult | FormattedExecutionResult;

/** What the caller (one socket, or a group of sharing callers) lends a subscription. */
export interface SocketSession {
  upstream: UpstreamConnections;
  /** The gateway context subgraph fetches carry (the client's authorization, address, agent). */
  gatewayContext(): GatewayContext;
  /** Told of each event sent: the field and when it was published upstream (epoch ms, if known). */
  delivered(field: string, publishedAt: number | undefined): void;
  /** Whether to complete this upstream event at all (a shared group's carriers skip events another brought). */
  accept?(event: FormattedExecutionResult): boolean;
  /**
   * The data sources completing one event, in place of `services` (sharing wraps them: answers
   * shared between completions of the same event, checked for the event's permission set).
   * `eventKey` names the event (its publication time, operation and data) when it is known.
   */
  services?(services: ServiceMap, eventKey: string | undefined): ServiceMap;
}

/**
 * Runs a subscription across subgraphs: the planner splits off the root field, which its
 * subgraph streams over the caller's own upstream socket; each event is then completed with the
 * fields other subgraphs own (e.g. `postCreated { author { displayName } }` from identity) by
 * @apollo/gateway's `executeQueryPlan`, with the event standing in for the root fetch. An
 * operation that cannot be planned yields one error result, then ends.
 */
export function federatedSubscribe(
  options: FederatedSubscriptionOptions,
  session: SocketSession,
  args: ExecutionArgs,
): AsyncIterableIterator<SubscriptionResult> {
  const { planner } = options;
  const operationName = args.operationName ?? undefined;
  const variables = (args.variableValues ?? {}) as Record<string, unknown>;
  let plan;
  try {
    plan = planner.plan(args.document, operationName);
  } catch (error) {
    options.logger.warn({ err: error }, 'subscription could not be planned');
    return once({
      errors: [new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })],
    });
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
    // One event is one publication of one document: its time and the root field's data identify it.
    const eventKey = () =>
      publishedAt === undefined ? undefined : `${publishedAt}:${primary.operation}:${JSON.stringify(event.data)}`;
    const services = session.services ? session.services(options.services, eventKey()) : options.services;
    const result = await executeQueryPlan(
      queryPlan,
      { ...services, [EVENT_SOURCE]: eventSource },
      requestContext,
      operationContext,
      planner.supergraphSchema,
      planner.apiSchema,
    );
    session.delivered(field, publishedAt);
    return result;
  });
}

/** A stream of one result, then its end. */
function once(result: SubscriptionResult): EventStream<SubscriptionResult> {
  const stream = new EventStream<SubscriptionResult>(() => {});
  stream.push(result);
  stream.end();
  return stream;
}

function rootFieldName(operation: {
  selectionSet: { selections: ReadonlyArray<{ kind: string; name?: { value: string } }> };
}): string {
  const first = operation.selectionSet.selections.find((selection) => selection.kind === 'Field');
  return first?.name?.value ?? 'unknown';
}
