import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Context } from '@opentelemetry/api';
import { context as otelContext, trace } from '@opentelemetry/api';
import { currentRequest } from '@platform/kernel';
import {
  injectTraceHeaders,
  SHARED_ANSWER_HEADER,
  CLIENT_ADDRESS_HEADER,
  DEADLINE_HEADER,
  SERVICE_CREDENTIAL_HEADER,
  settleError,
  signClientAddress,
  type ErrorReporter,
  type Logger,
} from '@platform/kernel/gateway';
import { GraphQLError } from 'graphql';

type Fetcher = RemoteGraphQLDataSource['fetcher'];
type FetcherResponse = Awaited<ReturnType<Fetcher>>;
type FetcherHeaders = FetcherResponse['headers'];
type FetcherRequestInit = NonNullable<Parameters<Fetcher>[1]>;

/** What the gateway keeps of an incoming request to pass on to subgraphs. */
export interface GatewayContext {
  requestId: string;
  authorization?: string;
  /** The caller's address as the gateway saw it (behind trusted proxies: the original client). */
  clientIp?: string;
  userAgent?: string;
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
 * gateway's; and the client's user agent and address, the latter signed with the deployment's
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

export interface KeepAliveFetcherOptions {
  /** Time allowed for one subgraph call, ms. */
  timeoutMs: number;
  /** Sockets per subgraph; default 64. */
  maxSockets?: number;
  /** Share one subgraph call between identical queries in flight at the same time (see below). */
  dedupeQueries?: boolean;
  /** Largest answer read from a subgraph; a larger one fails that fetch with RESPONSE_TOO_LARGE. */
  maxResponseBytes: number;
}

/**
 * Headers that differ between requests without changing a query's answer, left out of the
 * dedupe key: the request id, trace context and deadline, and the client's address and user agent, which
 * subgraphs read only in mutations (sign-in throttling, sessions, audit records), never in
 * queries. Everything else — above all `Authorization` — must match.
 */
const NOT_IN_DEDUPE_KEY = new Set([
  'x-request-id',
  'traceparent',
  'tracestate',
  'baggage',
  CLIENT_ADDRESS_HEADER,
  DEADLINE_HEADER,
  'user-agent',
]);

/**
 * The fetcher of every subgraph call: `node:http` over a keep-alive agent, nothing else.
 * @apollo/gateway's default (make-fetch-happen: an HTTP cache, retries, proxy agents and
 * minipass streams, for npm's needs) cost ~17 % of the gateway's CPU per request in the
 * benchmark's profile. Keep-alive saves a TCP handshake per subgraph call; no
 * `Accept-Encoding` is sent, so subgraphs never spend CPU compressing what travels over loopback
 * or a private network, and the gateway never decompresses it.
 *
 * With `dedupeQueries`, a query (never a mutation) identical to one already on its way to the
 * same subgraph — same URL, same body, same `Authorization` (see NOT_IN_DEDUPE_KEY for the
 * headers that may differ) — waits for that call's answer instead of sending its own (Hive
 * Gateway does the same by default). Each waiter parses the answer itself, so no two requests
 * share response objects. The subgraph then logs and traces the first request only.
 */
export function keepAliveFetcher(options: KeepAliveFetcherOptions): Fetcher {
  // FIFO, not Node's default LIFO: the pooled sockets take turns. Behind a Service that balances
  // connections (kube-proxy, a TCP balancer), LIFO keeps a quiet gateway on its most recent socket,
  // and so on one subgraph instance, while the others' connections idle.
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64, scheduling: 'fifo' as const };
  const agents = { 'http:': new HttpAgent(agentOptions), 'https:': new HttpsAgent(agentOptions) };
  const inflight = new Map<string, SharedCall>();

  const send = (url: string, init: FetcherRequestInit, signal: AbortSignal): Promise<BufferedResponse> =>
    new Promise<BufferedResponse>((resolve, reject) => {
      const target = new URL(url);
      const https = target.protocol === 'https:';
      const body = init.body ?? '';
      const req = (https ? httpsRequest : httpRequest)(
        target,
        {
          method: init.method ?? 'POST',
          agent: https ? agents['https:'] : agents['http:'],
          headers: { ...init.headers, 'content-length': String(Buffer.byteLength(body)) },
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > options.maxResponseBytes) req.destroy(tooLarge(options.maxResponseBytes));
            else chunks.push(chunk);
          });
          res.once('error', reject);
          res.once('end', () =>
            resolve(
              new BufferedResponse(
                url,
                res.statusCode ?? 0,
                res.statusMessage ?? '',
                res.headers,
                Buffer.concat(chunks),
              ),
            ),
          );
        },
      );
      req.once('error', (error) =>
        reject(
          signal.aborted && signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError'
            ? new Error(`subgraph request timed out after ${options.timeoutMs} ms`)
            : error,
        ),
      );
      req.end(body);
    });

  return async (url, init = {}) => {
    // The caller's request: its deadline bounds the call (and travels to the subgraph, which
    // stops at it too), and its signal ends the call when the client goes away.
    const request = currentRequest();
    const timeoutMs = Math.max(1, Math.min(options.timeoutMs, (request?.deadline ?? Infinity) - Date.now()));
    const sent: FetcherRequestInit = {
      ...init,
      headers: { ...init.headers, [DEADLINE_HEADER]: String(Math.floor(timeoutMs)) },
    };
    const deadline = AbortSignal.timeout(timeoutMs);
    const key = options.dedupeQueries ? dedupeKey(url, init) : undefined;
    if (key === undefined) {
      return send(url, sent, request?.signal ? AbortSignal.any([request.signal, deadline]) : deadline);
    }
    let call = inflight.get(key);
    if (!call) {
      const shared = new SharedCall(deadline);
      call = shared;
      inflight.set(key, shared);
      shared.start(send(url, sent, shared.signal)).finally(() => inflight.delete(key));
    }
    return call.join(request?.signal);
  };
}

/** RESPONSE_TOO_LARGE for a subgraph answer over the ceiling. */
function tooLarge(maxBytes: number): GraphQLError {
  return new GraphQLError(`A subgraph answer exceeded ${maxBytes} bytes`, {
    extensions: { code: 'RESPONSE_TOO_LARGE', max: maxBytes },
  });
}

/**
 * One subgraph call shared by identical queries in flight: it goes on while any of its callers
 * still waits for it, and is abandoned (its connection closed, so the subgraph stops too) once
 * every one of them went away.
 */
class SharedCall {
  readonly #controller = new AbortController();
  readonly signal: AbortSignal;
  #waiting = 0;
  #result!: Promise<BufferedResponse>;

  constructor(deadline: AbortSignal) {
    this.signal = AbortSignal.any([this.#controller.signal, deadline]);
  }

  start(result: Promise<BufferedResponse>): Promise<unknown> {
    this.#result = result;
    return result.catch(() => undefined);
  }

  async join(signal: AbortSignal | undefined): Promise<FetcherResponse> {
    this.#waiting++;
    const leave = (): void => {
      if (--this.#waiting === 0) this.#controller.abort();
    };
    signal?.addEventListener('abort', leave, { once: true });
    try {
      return (await this.#result).clone();
    } finally {
      signal?.removeEventListener('abort', leave);
    }
  }
}

/** The key under which identical in-flight queries share one call; undefined for anything else. */
function dedupeKey(url: string, init: FetcherRequestInit): string | undefined {
  const body = typeof init.body === 'string' ? init.body : undefined;
  // RemoteGraphQLDataSource sends `{"query":"…", …}` with the query first; the query planner
  // prints queries as `query …` or `{ … }`. Anything else (mutations) is never shared.
  if ((init.method ?? 'POST') !== 'POST' || !body) return undefined;
  if (!body.startsWith('{"query":"query') && !body.startsWith('{"query":"{')) return undefined;
  const headers = Object.entries(init.headers ?? {})
    .filter(([name]) => !NOT_IN_DEDUPE_KEY.has(name.toLowerCase()))
    .map(([name, value]) => `${name.toLowerCase()}:${value}`)
    .sort()
    .join('\n');
  return `${url}\n${headers}\n${body}`;
}

/** A whole response in memory: what RemoteGraphQLDataSource reads (status, headers, text/json). */
class BufferedResponse implements FetcherResponse {
  readonly redirected = false;
  readonly headers: FetcherHeaders;
  bodyUsed = false;

  constructor(
    readonly url: string,
    readonly status: number,
    readonly statusText: string,
    raw: IncomingHttpHeaders,
    readonly body: Buffer,
  ) {
    this.headers = new ResponseHeaders(raw);
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  async text(): Promise<string> {
    this.bodyUsed = true;
    return this.body.toString('utf8');
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    this.bodyUsed = true;
    return new Uint8Array(this.body).buffer;
  }

  clone(): FetcherResponse {
    return new BufferedResponse(
      this.url,
      this.status,
      this.statusText,
      (this.headers as ResponseHeaders).raw,
      this.body,
    );
  }
}

class ResponseHeaders implements FetcherHeaders {
  readonly #map = new Map<string, string>();

  constructor(readonly raw: IncomingHttpHeaders) {
    for (const [name, value] of Object.entries(raw)) {
      if (value !== undefined) this.#map.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const current = this.#map.get(key);
    this.#map.set(key, current === undefined ? value : `${current}, ${value}`);
  }
  delete(name: string): void {
    this.#map.delete(name.toLowerCase());
  }
  get(name: string): string | null {
    return this.#map.get(name.toLowerCase()) ?? null;
  }
  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }
  set(name: string, value: string): void {
    this.#map.set(name.toLowerCase(), value);
  }
  entries(): IterableIterator<[string, string]> {
    return this.#map.entries();
  }
  keys(): IterableIterator<string> {
    return this.#map.keys();
  }
  values(): IterableIterator<string> {
    return this.#map.values();
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.#map.entries();
  }
}
