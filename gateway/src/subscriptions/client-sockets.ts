import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { context as otelContext } from '@opentelemetry/api';
import type { Context } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import { negotiateLocale, type Logger } from '@platform/kernel';
import {
  ipBucket,
  admitSocket,
  CloseCode,
  expiryTimer,
  isWellFormedApiKey,
  TOKEN_EXPIRED,
  type CloseReason,
  type SocketUser,
} from '@platform/kernel/gateway';
import { apiKeyOf, type ApiKeyExchanger } from '../api-keys.js';
import type { GatewayContext } from '../data-source.js';
import { TOO_MANY_CONNECTIONS, type RegisteredSocket, type SocketRegistry } from './connections.js';
import type { SubscriptionMetrics } from './metrics.js';
import type { GatewayAuth } from './revocations.js';
import type { UpstreamIdentity } from './upstream.js';

/** Per socket: who, what it forwards upstream, and how to end it. */
export interface SocketState extends RegisteredSocket {
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
}

export type SocketContext = Context<Record<string, unknown>, Extra & { state?: SocketState }>;

/** A socket whose `connection_init` carried an API key that is not valid, or a key and another credential. */
const API_KEY_REFUSED: CloseReason = { code: CloseCode.Unauthorized, reason: 'Invalid API key' };
const API_KEYS_UNAVAILABLE: CloseReason = {
  code: CloseCode.TryAgainLater,
  reason: 'API keys cannot be checked right now',
};

export interface ClientSocketsOptions {
  /** Token verification and revocations. */
  auth: GatewayAuth;
  /**
   * Trades an API key in `connection_init` for its restricted token, as `/graphql` does; the
   * socket then lives as long as that token (minutes) and the client connects again with its key.
   */
  apiKeys?: ApiKeyExchanger;
  /** Open client sockets by user (the per-user limit; revoked sessions' sockets are closed through it). */
  registry: SocketRegistry;
  maxConnectionsPerUser: number;
  metrics: SubscriptionMetrics;
  logger: Logger;
  /** The client's address (behind trusted proxies, the one they name). */
  addressOf(request: IncomingMessage): string | undefined;
}

/**
 * The gateway's initialised client sockets: admitted at `connection_init` (token, revocations,
 * the per-user limit), registered by user and by address, closed when their token expires, and
 * forgotten when they close.
 */
export class ClientSockets {
  readonly #options: ClientSocketsOptions;
  /** Sockets registered per address bucket, for the per-address operation cap. */
  readonly #byAddress = new Map<string, Set<SocketState>>();
  readonly #stopExpiry = new WeakMap<SocketState, () => void>();

  constructor(options: ClientSocketsOptions) {
    this.#options = options;
  }

  /** Operations running now over every socket of the address bucket `address`. */
  operationsFrom(address: string | undefined): number {
    if (address === undefined) return 0;
    let running = 0;
    for (const socket of this.#byAddress.get(address) ?? []) running += socket.operations();
    return running;
  }

  /** `connection_init`: admits the socket (its state in `ctx.extra.state`), or closes it and says false. */
  async connect(ctx: SocketContext): Promise<boolean> {
    const { auth, registry, metrics, logger } = this.#options;
    const { socket } = ctx.extra;
    const close = (reason: CloseReason): void => {
      metrics.closed.inc({ code: String(reason.code) });
      socket.close(reason.code, reason.reason);
    };
    const params = await this.#withApiKey(ctx);
    if ('refused' in params) {
      if (socket.readyState === socket.OPEN) close(params.refused);
      return false;
    }
    const admission = await admitSocket(auth.verifier, params.params, auth.revocations, logger);
    // The client may have left while its token was checked: nothing to register then (onClose ran already).
    if (socket.readyState !== socket.OPEN) return false;
    if ('refused' in admission) {
      close(admission.refused);
      return false;
    }
    const state = this.#state(ctx, admission.user, close);
    if (!registry.add(state)) {
      close(TOO_MANY_CONNECTIONS(this.#options.maxConnectionsPerUser));
      return false;
    }
    if (state.address !== undefined) {
      this.#byAddress.set(state.address, (this.#byAddress.get(state.address) ?? new Set()).add(state));
    }
    metrics.connections.inc();
    this.#stopExpiry.set(
      state,
      expiryTimer(admission.user, () => close(TOKEN_EXPIRED)),
    );
    ctx.extra.state = state;
    return true;
  }

  /** `connection_init`'s payload, with an API key it carries traded for the key's access token. */
  async #withApiKey(
    ctx: SocketContext,
  ): Promise<{ params: Readonly<Record<string, unknown>> | undefined } | { refused: CloseReason }> {
    const params = ctx.connectionParams;
    const { key, conflict } = apiKeyOf(params);
    if (conflict) return { refused: API_KEY_REFUSED };
    if (key === undefined) return { params };
    const { apiKeys, logger, addressOf } = this.#options;
    if (!apiKeys || !isWellFormedApiKey(key)) return { refused: API_KEY_REFUSED };
    try {
      const token = await apiKeys.exchange(key, addressOf(ctx.extra.request));
      if (!token) return { refused: API_KEY_REFUSED };
      const { ['x-api-key']: _key, ...rest } = params ?? {};
      return { params: { ...rest, authorization: `Bearer ${token}` } };
    } catch (error) {
      logger.error({ err: error }, 'API key exchange failed');
      return { refused: API_KEYS_UNAVAILABLE };
    }
  }

  /** The socket closed: it is forgotten (its subscriptions, and so its share of upstream groups, end with it). */
  disconnect(ctx: SocketContext): void {
    const state = ctx.extra.state;
    if (!state) return;
    ctx.extra.state = undefined;
    this.#options.metrics.connections.dec();
    this.#stopExpiry.get(state)?.();
    this.#options.registry.remove(state);
    const address = state.address;
    const mine = address === undefined ? undefined : this.#byAddress.get(address);
    mine?.delete(state);
    if (mine?.size === 0) this.#byAddress.delete(address!);
  }

  #state(ctx: SocketContext, user: SocketUser | undefined, close: (reason: CloseReason) => void): SocketState {
    const { request } = ctx.extra;
    const clientIp = this.#options.addressOf(request);
    const identity: UpstreamIdentity = {
      authorization: user ? `Bearer ${user.token}` : undefined,
      requestId: randomUUID(),
      clientIp,
      userAgent: request.headers['user-agent'],
      locale: negotiateLocale(request.headers['accept-language']),
    };
    return {
      user,
      identity,
      address: clientIp === undefined ? undefined : ipBucket(clientIp),
      close,
      operations: () => Object.keys(ctx.subscriptions).length,
      refusals: 0,
      gatewayContext: () => ({ ...identity, requestId: randomUUID(), trace: otelContext.active() }),
    };
  }
}
