import type { IncomingMessage } from 'node:http';
import { getOperationAST, GraphQLError, parse, type DocumentNode, type ExecutionArgs } from 'graphql';
import { PlatformError, type PlatformConfig } from '@platform/kernel';
import {
  CloseCode,
  QueryTooComplexError,
  validateSafely,
  type CloseReason,
  type ServiceMetrics,
  checkOperation,
  checkTokens,
  rateLimitError,
} from '@platform/kernel/gateway';
import type { GatewayRateLimits } from '../limits/rate-limits.js';
import type { ClientSockets, SocketState } from './client-sockets.js';
import type { SubscriptionPlanner } from './planner.js';

// What the gateway's socket server lets in: upgrades (origin, the address's budget) and each
// operation a socket sends (the socket's and its address's caps, the caller's budget, then the
// same limits as over HTTP).

/** An operation as a `subscribe` message carries it. */
export interface OperationPayload {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/** Why an upgrade is refused (see attachWebSocketServer's `admit`). */
interface UpgradeRefusal {
  status: number;
  reason: string;
  headers?: string[];
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

const tooManySubscriptions = (max: number): GraphQLError =>
  new GraphQLError(`Too many operations on this connection: at most ${max} at once`, {
    extensions: { code: 'RATE_LIMITED', limit: max },
  });

const tooManyFromAddress = (max: number): GraphQLError =>
  new GraphQLError(`Too many operations from this address: at most ${max} at once`, {
    extensions: { code: 'RATE_LIMITED', limit: max },
  });

/** Whether `origin` names the host the request was sent to. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Refuses an upgrade from a foreign page (its `Origin` must be allowed, as for CORS: a foreign
 * page may not open a socket in its visitor's name) or from an address over its rate budget (an
 * upgrade counts like a request).
 */
export function upgradeAdmission(
  config: PlatformConfig,
  rateLimits: GatewayRateLimits,
  addressOf: (request: IncomingMessage) => string | undefined,
): (request: IncomingMessage) => Promise<UpgradeRefusal | undefined> {
  const any = config.http.cors.origins.includes('*');
  const allowed = new Set(config.http.cors.origins);
  return async (request) => {
    const origin = request.headers.origin;
    // Non-browser clients send no Origin; a browser always does, and cannot forge it. A page of
    // the gateway's own origin (its GraphiQL on /graphiql) is not a foreign page. Even a page on a
    // rebound domain passing that test gains nothing a script without a browser lacks: tokens
    // travel in `connection_init`, never in cookies, so it can only open a guest's socket.
    if (!any && origin !== undefined && !allowed.has(origin) && !sameOrigin(origin, request.headers.host)) {
      return { status: 403, reason: `Origin ${origin} is not allowed` };
    }
    const standing = await rateLimits.countCaller({ ip: addressOf(request) });
    if (!standing?.refused) return undefined;
    return {
      status: 429,
      reason: `Too many requests; retry in ${standing.resetSec} s`,
      headers: [`Retry-After: ${standing.resetSec}`],
    };
  };
}

export interface OperationAdmissionOptions {
  config: PlatformConfig;
  planner: SubscriptionPlanner;
  rateLimits: GatewayRateLimits;
  /** The gateway's service metrics (refusals by limit). */
  metrics: ServiceMetrics;
  /** The open sockets, for the per-address operation cap. */
  sockets: ClientSockets;
}

/**
 * What graphql-ws would do with a `subscribe` message (parse, validate, pick the operation), with
 * the socket's and its address's caps and the caller's rate budget first, and the same limits as
 * over HTTP: tokens before parsing, the operation's shape and cost after. Refusals are `error`
 * messages and the socket stays open, unless it has been refused too often.
 */
export class OperationAdmission {
  readonly #options: OperationAdmissionOptions;

  constructor(options: OperationAdmissionOptions) {
    this.#options = options;
  }

  /** The operation to run, or why not (counted against the socket). */
  async admit(state: SocketState, payload: OperationPayload): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const admitted = await this.#admit(state, payload);
    if (!Array.isArray(admitted)) return admitted;
    // Closed once the refusals decided so far were sent: graphql-ws writes each one's `error`
    // message after this returns, and refusals decided together (a burst, answered by one Redis
    // reply) would otherwise find the socket closed before any of them was written.
    if (++state.refusals === MAX_REFUSALS_PER_SOCKET) setImmediate(() => state.close(TOO_MANY_REFUSALS));
    return admitted;
  }

  async #admit(state: SocketState, payload: OperationPayload): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const limits = this.#options.config.gateway.subscriptions;
    if (state.operations() > limits.maxSubscriptionsPerConnection) {
      return [tooManySubscriptions(limits.maxSubscriptionsPerConnection)];
    }
    if (this.#options.sockets.operationsFrom(state.address) > limits.maxSubscriptionsPerAddress) {
      return [tooManyFromAddress(limits.maxSubscriptionsPerAddress)];
    }
    const standing = await this.#options.rateLimits.countCaller({
      userId: state.user?.id,
      ip: state.identity.clientIp,
    });
    if (standing?.refused) return [rateLimitError(standing, 'operations')];
    return this.#checked(payload, state);
  }

  async #checked(payload: OperationPayload, state: SocketState): Promise<ExecutionArgs | readonly GraphQLError[]> {
    const { config, planner, metrics } = this.#options;
    const schema = planner.clientSchema;
    if (!schema) return [new GraphQLError('The supergraph is not loaded yet', { extensions: { code: 'UNAVAILABLE' } })];
    let document: DocumentNode;
    try {
      checkTokens(payload.query, config.gateway.limits);
      document = parse(payload.query);
    } catch (error) {
      return [refusal(error, 'GRAPHQL_PARSE_FAILED', metrics)];
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
      return [refusal(error, 'BAD_REQUEST', metrics)];
    }
    // Queries and mutations run through the gateway's executor, whose plugin counts their fields.
    if (operation.operation === 'subscription') {
      const { rateLimits } = this.#options;
      const refused = await rateLimits.countFields(schema, document, operation, variables, state.identity.clientIp);
      if (refused) return [refused];
    }
    return { schema, document, operationName: payload.operationName, variableValues: variables };
  }
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
