import type { Server } from 'node:http';
import {
  createSourceEventStream,
  execute,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import type { RevocationList } from '../auth/revocation-list.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import type { AuthenticatedUser } from '../graphql/context.js';
import { socketAsksSharedAnswer, withSharedAnswerExtensions } from '../graphql/shared-answer.js';
import type { ErrorReporter } from '../error-bus/error-bus.js';
import { validateSafely } from '../graphql/client-errors.js';
import { negotiateLocale } from '../i18n/index.js';
import {
  admitSocket,
  expiryTimer,
  sessionProblem,
  TOKEN_EXPIRED,
  type CloseReason,
  type SocketUser,
} from './connection.js';
import { mapStream } from './event-stream.js';
import { publishedAtOf } from './pubsub.js';
import { ACCESS_DENIED_CODES, errorCodes, maskResult } from './results.js';
import { attachWebSocketServer } from './socket-server.js';

export interface SubgraphSubscriptionsOptions {
  server: Server;
  schema: GraphQLSchema;
  logger: Logger;
  /** Where unexpected errors of subscription events are published; without it they are only logged. */
  errors?: ErrorReporter;
  verifier: TokenVerifier;
  revocations: RevocationList;
  /**
   * A fresh resolver context for `user`: one per operation and one per event, so every delivery
   * is authorised anew. `sharedAnswer`: the socket asked for shared answers (see
   * `SHARED_ANSWER_PARAM`), so the context must hide who the caller is.
   */
  context(user: AuthenticatedUser | undefined, sharedAnswer: boolean): object;
  keepAliveMs: number;
  connectionInitTimeoutMs: number;
  path?: string;
}

/** Live counts, for tests proving teardown. */
export interface SubscriptionServerStats {
  connections: number;
  subscriptions: number;
}

export interface SubscriptionServer {
  stats(): SubscriptionServerStats;
  close(): Promise<void>;
}

/** What the kernel keeps per socket. */
interface SocketState {
  user: SocketUser | undefined;
  /** `connection_init` asked for shared answers: every operation and event of the socket gets them. */
  sharedAnswer: boolean;
  /** The language of the upgrade request's `Accept-Language` (the gateway passes its client's on). */
  locale: string;
  close(reason: CloseReason): void;
  stopExpiry(): void;
}

type SocketContext = Context<Record<string, unknown>, Extra & { state?: SocketState }>;

/**
 * graphql-ws on a subgraph's `/graphql`, for the gateway (one upstream socket per client socket,
 * carrying that client's token). The token of `connection_init` is verified like an HTTP
 * request's; each event runs the field's resolver, and so its shield rule, with a fresh context
 * (permissions looked up again through the cached resolver that authz's events invalidate). An
 * event refused that way ends the subscription with the error. The socket closes when its token
 * expires (4401) and, at the next event, when its session was revoked (4403).
 *
 * A socket whose `connection_init` carries `sharedAnswer: true` gets shared answers: resolvers
 * cannot tell who the caller is, and each result whose rules consulted permissions (a refusal
 * too) names the permission set in `extensions.permissions`.
 */
export function serveSubgraphSubscriptions(options: SubgraphSubscriptionsOptions): SubscriptionServer {
  const { logger, revocations } = options;
  const log = logger.child({ component: 'subscriptions' });
  const sockets = attachWebSocketServer(options.server, options.path ?? '/graphql', {
    keepAliveMs: options.keepAliveMs,
  });
  let subscriptions = 0;

  const stateOf = (args: ExecutionArgs): SocketState => args.contextValue as SocketState;
  const contextOf = (state: SocketState): object => options.context(state.user, state.sharedAnswer);

  /** One operation or event, with a fresh context; a shared answer names the permissions it used. */
  const run = async (state: SocketState, args: ExecutionArgs): Promise<ExecutionResult> => {
    const contextValue = contextOf(state);
    return withSharedAnswerExtensions(await execute({ ...args, contextValue }), contextValue);
  };

  const subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const state = stateOf(args);
    const subscribeContext = contextOf(state);
    const source = await createSourceEventStream({ ...args, contextValue: subscribeContext });
    // Refused when subscribing: a shared answer's refusal names the permissions it was refused for.
    if (!(Symbol.asyncIterator in source)) return withSharedAnswerExtensions(source, subscribeContext);
    subscriptions++;
    return mapStream(
      source[Symbol.asyncIterator](),
      async (event, stop) => {
        const problem = sessionProblem(state.user, revocations);
        if (problem) {
          state.close(problem);
          stop();
          return undefined;
        }
        const result = await run(state, { ...args, rootValue: event });
        if (result.data == null && errorCodes(result).some((code) => ACCESS_DENIED_CODES.has(code))) stop();
        const publishedAt = publishedAtOf(event);
        return publishedAt === undefined ? result : { ...result, extensions: { ...result.extensions, publishedAt } };
      },
      () => subscriptions--,
    );
  };

  const disposable = useServer<Record<string, unknown>, { state?: SocketState }>(
    {
      schema: options.schema,
      // graphql-js 16 throws on `@skip(if: $var)` at a subscription's root (the socket closed 4500).
      validate: validateSafely,
      connectionInitWaitTimeout: options.connectionInitTimeoutMs,
      context: (ctx: SocketContext) => ctx.extra.state,
      async onConnect(ctx: SocketContext) {
        const { socket } = ctx.extra;
        const close = (reason: CloseReason): void => socket.close(reason.code, reason.reason);
        const admission = await admitSocket(options.verifier, ctx.connectionParams, revocations, log);
        // The client may have left while its token was checked: then no expiry timer is armed.
        if (socket.readyState !== socket.OPEN) return false;
        if ('refused' in admission) {
          close(admission.refused);
          return false;
        }
        const { user } = admission;
        ctx.extra.state = {
          user,
          sharedAnswer: socketAsksSharedAnswer(ctx.connectionParams),
          locale: negotiateLocale(ctx.extra.request.headers['accept-language']),
          close,
          stopExpiry: expiryTimer(user, () => close(TOKEN_EXPIRED)),
        };
        return true;
      },
      onClose(ctx: SocketContext) {
        ctx.extra.state?.stopExpiry();
      },
      execute: (args) => run(stateOf(args), args),
      subscribe,
      onNext: (ctx: SocketContext, _id, _payload, _args, result): FormattedExecutionResult =>
        maskResult(result, log, undefined, options.errors, ctx.extra.state?.locale),
    },
    sockets.wss,
    0, // the socket server pings (jittered), not graphql-ws
  );

  return {
    stats: () => ({ connections: sockets.size, subscriptions }),
    close: async () => {
      // graphql-ws closes its sockets (1001) and the server; then nothing may upgrade any more.
      await disposable.dispose();
      await sockets.close();
    },
  };
}
