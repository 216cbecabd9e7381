/**
 * `@platform/kernel/tools`: what platformctl, the code generators, the in-process platform
 * (`npm start`) and the benchmarks need beyond a module's API: manifests and the registry,
 * schemas, embedded databases, seeding, offline runtimes. Module authors never need these.
 */
import 'reflect-metadata';

export { KERNEL_VERSION } from './version.js';
export { loadConfig } from './config/load.js';
export type { PlatformConfig } from './config/schema.js';
export { createLogger, type Logger } from './logging/logger.js';
export { ServiceMetrics } from './metrics/metrics.js';
export { openDatabase, type ModuleDatabase } from './database/database.js';
export { createEmbeddedClusters, embeddedDataDir } from './database/embedded.js';
export { KERNEL_TOPICS, KERNEL_TOPIC_PREFIX } from './events/kernel-topics.js';
export { ManifestError, parseManifest, loadManifest, type Manifest } from './module/manifest.js';
export { ModuleRegistry, startInOrder, type RegistryProblem } from './module/registry.js';
export { seedContext, type ModuleDefinition, type SeedOutcome } from './module/define.js';
export { buildModuleSchema, SchemaRulesError } from './graphql/schema.js';
export { applyRules } from './graphql/rules.js';
export { permissionCheck } from './graphql/permissions.js';
export { startSubgraph, type ServiceHandle, type SubgraphHandle } from './service/subgraph.js';
export { withModuleRuntime } from './service/offline.js';
// `platformctl jobs`: a module's queues, schedules and dead jobs, and retrying one.
export { jobsReport, retryJob, JOBS_PATH, type RetryOutcome } from './jobs/operate.js';
export type { JobInfo, JobState, JobsReport, QueueInfo, ScheduleInfo } from './jobs/types.js';
export { JWKS_PATH } from './contracts/access-tokens.js';
// `platformctl doctor`: a module's migrations, outbox and queues, offline or from its running service.
export { moduleDiagnostics, DIAGNOSTICS_PATH, type ModuleDiagnostics } from './service/diagnostics.js';
// The benchmarks' peers of the gateway's token and permission checks.
export { TokenVerifier } from './auth/token-verifier.js';
export { RemotePermissions } from './auth/remote-permissions.js';
export { attachWebSocketServer } from './subscriptions/socket-server.js';
