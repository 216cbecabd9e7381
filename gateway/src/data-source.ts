import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Context } from '@opentelemetry/api';
import { context as otelContext, trace } from '@opentelemetry/api';
import {
  injectTraceHeaders,
  SHARED_ANSWER_HEADER,
  CLIENT_ADDRESS_HEADER,
  SERVICE_CREDENTIAL_HEADER,
  settleError,
  signClientAddress,
  type ErrorReporter,
  type Logger,
} from '@platform/kernel/gateway';
import type { Fetcher, FetcherHeaders, FetcherResponse } from './keep-alive-fetcher.js';

/** What the gateway keeps of an incoming request to pass on to subgraphs. */
export interface GatewayContext {
  requestId: string;
  authorization?: string;
  /** The caller's address as the gateway saw it (behind trusted proxies: the original client). */
  clientIp?: string;
  userAgent?: string;
  /**
   * The caller's language, negotiated from its `Accept-Language` (a supported locale): passed on
   * as the subgraph call's `Accept-Language`, so subgraphs answer their errors in it.
   */
  locale?: string;
  /** The OpenTelemetry context of the incoming request (its server span). */
  trace: Context;
  /**
   * Asks for an answer shareable by everyone holding the caller's permission set (a shared
   * subscription group's completion): the subgraph refuses to read who the caller is, and names
   * the permission set it used.
   */
  sharedAnswer?: boolean;
}

/**
 * Calls one subgraph, forwarding the caller's `Authorization`, the request id and the W3C
 * trace context, so the subgraph authenticates the same user and its logs and spans join the
 * gateway's; the caller's language (`Accept-Language`, negotiated); and the client's user agent and address, the latter signed with the deployment's
 * service secret (`X-Platform-Client`), which subgraphs believe and clients cannot forge, for
 * sessions, rate limits and audit records.
 */
export class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  // Subgraphs send no cache hints (the cache-control plugin is off everywhere): nothing to merge.
  override honorSubgraphCacheControlHeader = false;
  /** The deployment's service secret, which signs the client address. */
  readonly clientAddressSecret: string;

  /** The deployment's service credential: subgraphs answer `_service` (composition) only with it. */
  readonly credential: string;

  /** Where failed calls are told apart (see didEncounterError); none: they are only rethrown. */
  readonly #failures: SubgraphFailures | undefined;

  constructor(config: {
    url: string;
    fetcher: Fetcher;
    clientAddressSecret: string;
    credential: string;
    failures?: SubgraphFailures;
  }) {
    super(config);
    this.clientAddressSecret = config.clientAddressSecret;
    this.credential = config.credential;
    this.#failures = config.failures;
    this.fetcher = readingClientErrors(this.fetcher);
  }

  /**
   * A failed call: a subgraph that cannot be reached, is overloaded or stopping (no answer, 502,
   * 503, 504, the caller gone) is an operational state its own metrics, readiness and alerts
   * cover: logged as a warning here, not published. An answer no healthy subgraph gives (500 or
   * another status without a GraphQL body, a body that is not JSON) is a bug: published to the
   * error bus (kind `subgraph`). Either way the error is settled, so the masking that follows does
   * not publish it again. (A subgraph's own resolver errors arrive as GraphQL errors, already
   * masked and published by the subgraph.)
   */
  override didEncounterError(
    error: Error,
    _fetchRequest: unknown,
    fetchResponse?: FetcherResponse,
    context?: GatewayContext,
  ): never {
    const failures = this.#failures;
    if (failures) {
      const status = fetchResponse?.status;
      const operational = status === undefined || status === 502 || status === 503 || status === 504;
      if (operational) {
        failures.logger.warn({ subgraph: failures.subgraph, status, err: error }, 'subgraph call failed');
        settleError(error);
      } else {
        failures.errors.report(error, {
          kind: 'subgraph',
          message: 'subgraph answered what no healthy subgraph answers',
          subgraph: failures.subgraph,
          ...(context?.requestId ? { requestId: context.requestId } : {}),
          extra: { status },
        });
      }
    }
    throw error;
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers) return;
    headers.set(SERVICE_CREDENTIAL_HEADER, this.credential);
    if (!context || !('requestId' in context)) return;
    const gateway = context as GatewayContext;
    headers.set('x-request-id', gateway.requestId);
    if (gateway.authorization) headers.set('authorization', gateway.authorization);
    if (gateway.clientIp)
      headers.set(CLIENT_ADDRESS_HEADER, signClientAddress(this.clientAddressSecret, gateway.clientIp));
    if (gateway.userAgent) headers.set('user-agent', gateway.userAgent);
    // The negotiated locale rather than the client's header: one of a few values, so calls that
    // differ only in how a client phrased it still share a deduplicated answer. A shared answer
    // goes to callers of any language: it stays English.
    if (gateway.locale && !gateway.sharedAnswer) headers.set('accept-language', gateway.locale);
    if (gateway.sharedAnswer) headers.set(SHARED_ANSWER_HEADER, '1');
    // The subgraph's spans nest under the gateway's fetch span for this call (active here, in
    // the query plan's execution), else under the gateway's request.
    const active = trace.getSpanContext(otelContext.active());
    const parent =
      active && active.traceId === trace.getSpanContext(gateway.trace)?.traceId ? otelContext.active() : gateway.trace;
    for (const [name, value] of Object.entries(injectTraceHeaders({}, parent))) headers.set(name, value);
  }
}

/** The subgraph a data source calls, and where its failed calls are told (see didEncounterError). */
export interface SubgraphFailures {
  subgraph: string;
  logger: Pick<Logger, 'warn'>;
  errors: ErrorReporter;
}

/**
 * A subgraph answers a request that failed on the client's input (a forged cursor, a page size
 * out of range: no data, only BAD_USER_INPUT) with HTTP 400 and a GraphQL body, as the kernel
 * does for every caller. RemoteGraphQLDataSource reads no body from a non-2xx answer (it would
 * become "400: Bad Request", masked as INTERNAL_SERVER_ERROR), so such an answer is passed on as
 * the GraphQL response it is: its errors keep their codes and paths, and the gateway's own
 * response gets its status from them the same way.
 */
export function readingClientErrors(fetcher: Fetcher): Fetcher {
  return async (url, init) => {
    const response = await fetcher(url, init);
    const type = response.headers.get('content-type') ?? '';
    const graphql = type.startsWith('application/json') || type.startsWith('application/graphql-response+json');
    return response.status === 400 && graphql ? new GraphQLAnswer(response) : response;
  };
}

/** A GraphQL response that came with a 4xx: what RemoteGraphQLDataSource reads as a 200's body. */
class GraphQLAnswer implements FetcherResponse {
  readonly ok = true;
  readonly status = 200;
  readonly statusText = 'OK';

  constructor(readonly inner: FetcherResponse) {}

  get url(): string {
    return this.inner.url;
  }
  get redirected(): boolean {
    return this.inner.redirected;
  }
  get headers(): FetcherHeaders {
    return this.inner.headers;
  }
  get bodyUsed(): boolean {
    return this.inner.bodyUsed;
  }
  text(): Promise<string> {
    return this.inner.text();
  }
  json(): Promise<unknown> {
    return this.inner.json();
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.inner.arrayBuffer();
  }
  clone(): FetcherResponse {
    return new GraphQLAnswer(this.inner.clone());
  }
}
