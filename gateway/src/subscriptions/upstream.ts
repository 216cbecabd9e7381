import { createClient, type Client } from 'graphql-ws';
import type { FormattedExecutionResult } from 'graphql';
import WebSocket from 'ws';
import { EventStream, type Logger } from '@platform/kernel';
import { CloseCode, SHARED_ANSWER_PARAM } from '@platform/kernel/gateway';

/** What upstream connections carry: the caller's own credentials. */
export interface UpstreamIdentity {
  authorization?: string;
  requestId: string;
  clientIp?: string;
  userAgent?: string;
  /** The client's language, negotiated from the upgrade request's `Accept-Language`. */
  locale?: string;
  /** Shared-answer mode (see SubscriptionGroups): the subgraph answers for the caller's permission set, not for them. */
  sharedAnswer?: boolean;
}

/** A subgraph closed an upstream socket with one of these: the client's socket closes with the same code. */
const PASSED_ON = new Set<number>([CloseCode.Unauthorized, CloseCode.SessionRevoked]);

/**
 * What a client gets when the subgraph's socket fails (it restarted, or is down): the masked
 * internal error HTTP clients get for an unreachable subgraph, then the end of the subscription,
 * so the client subscribes again. The cause is logged here.
 */
export const UNAVAILABLE: FormattedExecutionResult = {
  errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
};

/**
 * The upstream graphql-ws connections of one caller (a client socket, or a group of sockets whose
 * callers cannot be told apart, see SubscriptionGroups): at most one per subgraph, opened on the
 * first subscription, carrying that caller's token (so users' credentials never mix), and closed
 * with the last. A subgraph that closes one for an expired token or a revoked session
 * (4401/4403) closes the client sockets with the same code.
 */
export class UpstreamConnections {
  readonly #clients = new Map<string, Client>();
  readonly #identity: UpstreamIdentity;
  readonly #urls: Readonly<Record<string, string>>;
  readonly #onFatalClose: (code: number, reason: string) => void;
  readonly #logger: Logger;
  readonly #keepAliveMs: number;
  readonly #onSocket: (delta: 1 | -1) => void;
  #closed = false;

  constructor(options: {
    identity: UpstreamIdentity;
    /** Subgraph name → its GraphQL HTTP URL. */
    urls: Readonly<Record<string, string>>;
    onFatalClose: (code: number, reason: string) => void;
    logger: Logger;
    keepAliveMs: number;
    /** Told +1 when an upstream socket opens and -1 when it closes (gateway-wide count). */
    onSocket?: (delta: 1 | -1) => void;
  }) {
    this.#onSocket = options.onSocket ?? (() => {});
    this.#identity = options.identity;
    this.#urls = options.urls;
    this.#onFatalClose = options.onFatalClose;
    this.#logger = options.logger;
    this.#keepAliveMs = options.keepAliveMs;
  }

  /** Streams one operation's results from `service`; closing the stream unsubscribes. */
  subscribe(
    service: string,
    payload: { query: string; variables: Record<string, unknown>; operationName?: string },
  ): EventStream<FormattedExecutionResult> {
    const client = this.#client(service);
    if (!client) {
      const stream = new EventStream<FormattedExecutionResult>(() => {});
      this.#logger.warn({ service }, 'subscription for an unknown or closed subgraph');
      stream.push(UNAVAILABLE);
      stream.end();
      return stream;
    }
    const upstream: { unsubscribe?: () => void } = {};
    const stream = new EventStream<FormattedExecutionResult>(() => upstream.unsubscribe?.());
    upstream.unsubscribe = client.subscribe<Record<string, unknown>, Record<string, unknown>>(payload, {
      next: (result) => stream.push(result),
      error: (error) => {
        if (Array.isArray(error)) stream.push({ errors: error });
        else {
          const { code, reason } = error as { code?: number; reason?: string };
          this.#logger.warn(
            { service, code, reason, err: error instanceof Error ? error : undefined },
            'upstream subscription failed',
          );
          stream.push(UNAVAILABLE);
        }
        stream.end();
      },
      complete: () => stream.end(),
    });
    return stream;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    await Promise.all(clients.map((client) => client.dispose()));
  }

  #client(service: string): Client | undefined {
    if (this.#closed) return undefined;
    const existing = this.#clients.get(service);
    if (existing) return existing;
    const url = this.#urls[service];
    if (!url) return undefined;
    const identity = this.#identity;
    const headers: Record<string, string> = { 'x-request-id': identity.requestId };
    if (identity.userAgent) headers['user-agent'] = identity.userAgent;
    // A shared group's answers go to callers of any language: they stay English.
    if (identity.locale && !identity.sharedAnswer) headers['accept-language'] = identity.locale;
    /** `ws` with the request id and the client's agent on the upgrade request (subgraph sockets record nothing by address). */
    class ForwardingWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers });
      }
    }
    let open = false;
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: ForwardingWebSocket,
      connectionParams: {
        ...(identity.authorization ? { authorization: identity.authorization } : {}),
        ...(identity.sharedAnswer ? { [SHARED_ANSWER_PARAM]: true } : {}),
      },
      // One socket while this client subscribes to anything here; none otherwise.
      lazy: true,
      lazyCloseTimeout: 0,
      retryAttempts: 0,
      keepAlive: this.#keepAliveMs,
      on: {
        // `opened` pairs with `closed`; a socket that never opened reports only `closed`.
        opened: () => {
          open = true;
          this.#onSocket(1);
        },
        closed: (event) => {
          if (open) {
            open = false;
            this.#onSocket(-1);
          }
          const { code, reason } = event as { code?: number; reason?: string };
          if (code !== undefined && PASSED_ON.has(code)) this.#onFatalClose(code, reason ?? '');
        },
        error: (error) => this.#logger.debug({ err: error, service }, 'upstream socket error'),
      },
    });
    this.#clients.set(service, client);
    return client;
  }
}
