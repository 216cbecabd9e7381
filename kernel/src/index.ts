/**
 * `@platform/kernel`: what a module author needs, and nothing else (docs/extension-points.md).
 * The modules that implement the kernel's contracts (identity, authz) add
 * `@platform/kernel/contracts`; the gateway's edge has `@platform/kernel/gateway`, platformctl and benchmarks
 * `@platform/kernel/tools`, tests `@platform/kernel/testing`. kernel/api/index.api.md is this
 * surface as reviewed: CI fails when it changes without the report (`npm run api:update`).
 */
import 'reflect-metadata';

// A module: its definition, runtime, hooks and how it starts.
export {
  defineModule,
  type ModuleDefinition,
  type ModuleOptions,
  type ModuleRuntime,
  type ModuleConsumer,
  type ModuleContracts,
  type LifecycleHooks,
  type SeedContext,
  type SeedOutcome,
  type RouteContext,
  type EntityReference,
  type ModuleJob,
} from './module/define.js';
export { runMain } from './service/main.js';
export { startSubgraph } from './service/subgraph.js';
export { moduleConfig, ConfigError, type ConfigIssue } from './config/load.js';
export type { PlatformConfig } from './config/schema.js';
export type { Logger } from './logging/logger.js';
export type { ModuleDatabase } from './database/database.js';
/** The EntityManager the kernel hands out (forked per request, or per job): what modules' services take. */
export type { SqlEntityManager as EntityManager } from '@mikro-orm/sql';

// Errors: typed, with a stable `extensions.code`.
export {
  PlatformError,
  InputError,
  AuthenticationError,
  ForbiddenError,
  NotFoundError,
  ConflictError,
  RateLimitError,
  MfaRequiredError,
  fieldError,
  renamedField,
  type FieldError,
} from './errors.js';

// Messages in the caller's language: catalogs per namespace, keys resolved at response time (docs/i18n.md).
export {
  msg,
  Message,
  registerMessages,
  negotiateLocale,
  isSupportedLocale,
  SUPPORTED_LOCALES,
  DEFAULT_LOCALE,
  type Locale,
  type Catalog,
  type Catalogs,
  type MessageParam,
  type MessageParams,
} from './i18n/index.js';
// Unexpected errors a module handled itself: `runtime.errors.report(error, context)`.
export type { ErrorKind, ErrorReportContext, ErrorReporter } from './error-bus/error-bus.js';

// Resolvers: context, rules, pagination.
export type { GraphQLContext, AuthenticatedUser } from './graphql/context.js';
export { currentRequest } from './http/request-context.js';
export { rule, and, or, not, publicAccess, authenticated, permission, perCaller } from './graphql/rules.js';
export type { ShieldRule, IRules } from './graphql/rules.js';
export {
  ConnectionType,
  pageOf,
  toConnection,
  afterCursor,
  NEWEST_FIRST,
  type Connection,
  type PageArgs,
  type PageRequest,
} from './graphql/pagination.js';
export { isUuid, requireUuid } from './validation.js';

// Events: typed publishing, consuming once, subscriptions.
export { emitter, type Emit, type EventMap } from './events/emit.js';
export type { EventMeta, PlatformEvent } from './events/event.js';
export { causedBy } from './events/event.js';
export type { Subscription } from './events/bus.js';
export { handleOnce } from './events/handle-once.js';
export { EventStream } from './subscriptions/event-stream.js';
export type { PlatformPubSub } from './subscriptions/pubsub.js';

// Jobs: a module's queues (`defineModule({ jobs })`, `runtime.jobs`) and the schedules of module.yaml.
export type { EnqueueOptions, JobContext, ModuleJobs, QueueOptions } from './jobs/types.js';
export { PermanentJobError, type ScheduleRun } from './jobs/queue.js';

// Cache: a module's cache (`runtime.cache`), TTLs, tags, get-or-load.
export type { CacheEntryOptions, ModuleCache } from './cache/cache.js';

// Files: a module's storage (`runtime.files`), uploads and downloads by signed URLs.
export type { FileStorage, StoredFile, UploadRequest, UploadTicket } from './files/storage.js';

// Mail: templates a module registers, sent as jobs (`runtime.mail`).
export { escapeHtml } from './mail/templates.js';
export type { MailContent, MailTemplate, MailTemplates } from './mail/templates.js';
export type { ModuleMail, SendMail, MailSentPayload, MailFailedPayload } from './mail/mail.js';
