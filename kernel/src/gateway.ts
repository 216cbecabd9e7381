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
