// `@platform/kernel/gateway`: what the gateway (the platform's edge) needs beyond a module's API:
// operation limits for its WebSocket path, rate budgets, and the signed client address and
// deadline it passes on to subgraphs. Module authors never need these.
export {
  checkOperation,
  checkTokens,
  countTokens,
  measureOperation,
  rootFieldNodes,
  type OperationMeasures,
} from './limits/operation-limits.js';
export { bytesOf, tokenLimit } from './limits/plugin.js';
export { RateBudgetCounter, rateLimitError, rateLimitHeaders, type RateStanding } from './limits/rate-limits.js';
export {
  CLIENT_ADDRESS_HEADER,
  requestAddress,
  signClientAddress,
  verifyClientAddress,
} from './http/client-address.js';
export { DEADLINE_HEADER } from './http/server.js';
export { serviceSecret, serviceSecretFile } from './security/service-secret.js';
export type { OperationLimits, RateBudget, FieldBudget } from './config/schema.js';
export {
  presentedCredential,
  requireServiceCredential,
  SERVICE_CREDENTIAL_HEADER,
  serviceCredential,
} from './security/service-credential.js';
export { redisCheck } from './redis.js';
export { jwksCheck } from './health/checks.js';
export { runAsService } from './tracing/tracing.js';

// Its server, config and observability (what every service has; a module gets them from the kernel).
export { loadConfig } from './config/load.js';
export type { PlatformConfig } from './config/schema.js';
export { createLogger, type Logger } from './logging/logger.js';
export { ServiceMetrics } from './metrics/metrics.js';
export { SubgraphFetchMetrics } from './metrics/subgraph-fetches.js';
export { Readiness } from './health/health.js';
export { HttpService, errorBody } from './http/server.js';
export { currentRequest, runWithRequest } from './http/request-context.js';
export { startTracing, injectTraceHeaders } from './tracing/tracing.js';
export { createRedis, closeRedis } from './redis.js';
export { createEventBus } from './events/create.js';
export type { EventBus } from './events/bus.js';
export type { ServiceHandle } from './service/subgraph.js';
export { Teardown } from './service/teardown.js';
// Its unexpected errors: the same bus (log, errors_total, Sentry) as every service's.
export { createErrorBus } from './error-bus/create.js';
export { settleError, type ErrorBus, type ErrorReporter } from './error-bus/error-bus.js';
export { PlatformError, QueryTooComplexError } from './errors.js';
export { platformApolloOptions } from './graphql/apollo.js';
export { validateSafely } from './graphql/client-errors.js';
// Who calls and what they may do: the kernel's access-token and permissions contracts.
export { TokenVerifier } from './auth/token-verifier.js';
export type { RevocationList } from './auth/revocation-list.js';
export type { RevocationSync } from './auth/revocation-sync.js';
export { jwksUrlOf, startRevocations, verifierJwksUrl } from './contracts/access-tokens.js';
export { permissionServiceOrigin } from './contracts/permissions.js';
export { RemotePermissions } from './auth/remote-permissions.js';
export { API_KEY_EXCHANGE_PATH, isWellFormedApiKey, looksLikeApiKey } from './auth/api-key-format.js';
export { tokenServiceOrigin } from './contracts/access-tokens.js';
export { permissionFingerprint, restrictTo, type EffectivePermissions } from './graphql/permissions.js';
export type { AuthenticatedUser } from './graphql/context.js';
export { accountKey, ipBucket, ipKey } from './security/throttle-keys.js';
// Shared answers: one subgraph answer for every caller whose permissions allow it.
export { PER_CALLER_TAG } from './graphql/rules.js';
export { PERMISSIONS_EXTENSION, SHARED_ANSWER_HEADER, SHARED_ANSWER_PARAM } from './graphql/shared-answer.js';
// Subscriptions over graphql-ws at the edge.
export { CloseCode } from './subscriptions/close-codes.js';
export {
  SESSION_REVOKED,
  TOKEN_EXPIRED,
  admitSocket,
  expiryTimer,
  type CloseReason,
  type SocketUser,
} from './subscriptions/connection.js';
export { EventStream, mapStream } from './subscriptions/event-stream.js';
export { maskResult } from './subscriptions/results.js';
export { attachWebSocketServer } from './subscriptions/socket-server.js';
