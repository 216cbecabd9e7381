import 'reflect-metadata';

export * from './version.js';
export * from './errors.js';
export {
  loadConfig,
  moduleConfig,
  ConfigError,
  envOverrides,
  PLAIN_ENV_VARS,
  ENV_PREFIX,
  type ConfigIssue,
  type LoadConfigOptions,
} from './config/load.js';
export { platformConfigSchema, type PlatformConfig, type ServiceConfig } from './config/schema.js';
export { createLogger, REDACT_PATHS, type Logger } from './logging/logger.js';
export { currentRequest, runWithRequest, requestIdFrom, type RequestContext } from './http/request-context.js';
export { HttpService, errorBody, type HttpServiceOptions } from './http/server.js';
export { Readiness, type CheckResult, type ReadinessCheck } from './health/health.js';
export { ServiceMetrics } from './metrics/metrics.js';
export {
  startTracing,
  tracer,
  withSpan,
  extractContext,
  injectTraceHeaders,
  activeTraceId,
} from './tracing/tracing.js';
export { openDatabase, type ModuleDatabase, type DatabaseOptions } from './database/database.js';
export {
  createEmbeddedClusters,
  embeddedDataDir,
  openEmbeddedCluster,
  type EmbeddedCluster,
} from './database/embedded.js';
export * from './module/manifest.js';
export * from './module/registry.js';
export * from './module/define.js';
export * from './graphql/context.js';
export * from './graphql/pagination.js';
export * from './graphql/rules.js';
export * from './graphql/permissions.js';
export * from './graphql/shared-answer.js';
export { buildModuleSchema, SchemaRulesError } from './graphql/schema.js';
export { FEDERATION_VERSION, FEDERATION_LINK } from './graphql/federation.js';
export { metricsPlugin, formatErrorWith, landingPagePlugin, platformApolloOptions } from './graphql/apollo.js';
export { CLIENT_ERROR_STATUS, nulCharacterError, validateSafely } from './graphql/client-errors.js';
export {
  startSubgraph,
  type ServiceHandle,
  type SubgraphHandle,
  type StartSubgraphOptions,
} from './service/subgraph.js';
export * from './contracts/index.js';
export { runMain } from './service/main.js';
export * from './subscriptions/index.js';
export { withModuleRuntime } from './service/offline.js';
export * from './events/index.js';
export * from './auth/index.js';
export { RemotePermissions, type RemotePermissionsOptions } from './auth/remote-permissions.js';
export * from './security/index.js';
export { createRedis, closeRedis, describeRedisUrl } from './redis.js';
export { requireUuid, isUuid } from './validation.js';
/** The EntityManager the kernel hands out (forked per request, or per job): what modules' services take. */
export type { SqlEntityManager as EntityManager } from '@mikro-orm/sql';
