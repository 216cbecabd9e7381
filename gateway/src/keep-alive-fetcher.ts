import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { RemoteGraphQLDataSource } from '@apollo/gateway';
import { currentRequest } from '@platform/kernel';
import { CLIENT_ADDRESS_HEADER, DEADLINE_HEADER } from '@platform/kernel/gateway';
import { GraphQLError } from 'graphql';

export type Fetcher = RemoteGraphQLDataSource['fetcher'];
export type FetcherResponse = Awaited<ReturnType<Fetcher>>;
export type FetcherHeaders = FetcherResponse['headers'];
type FetcherRequestInit = NonNullable<Parameters<Fetcher>[1]>;

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
