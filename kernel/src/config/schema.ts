import proxyaddr from 'proxy-addr';
import { z } from 'zod';
import { byteSize, url } from './primitives.js';
import { cacheSchema, FILES_DEFAULTS, filesSchema, jobsSchema } from './platform-services.js';

export { cronProblem, type FilesConfig } from './platform-services.js';

/** What proxy-addr (Express's `trust proxy`) accepts as one trusted proxy. */
function isProxySpec(value: string): boolean {
  try {
    proxyaddr.compile(value);
    return true;
  } catch {
    return false;
  }
}

const port = z.number().int().min(0).max(65535);
const serviceName = z.string().regex(/^[a-z][a-z0-9-]*$/, 'a service name (lower-case letters, digits, dashes)');
/** A plain environment variable: the config path it sets, and whether it holds a secret. */
export const envVariable = z
  .object({
    path: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+$|^[A-Za-z][A-Za-z0-9]*$/, 'a dotted config path'),
    secret: z.boolean().default(false),
  })
  .strict();
export type EnvVariable = z.infer<typeof envVariable>;
/** A rate budget: `points` operations per `durationSec` seconds. */
const budget = z
  .object({
    points: z.number().int().positive(),
    durationSec: z.number().int().positive(),
  })
  .strict();

/**
 * Tight budgets for one root field (`Mutation.register`): per client address and, optionally,
 * per value of one argument (a dotted path such as `input.email`), so one target cannot be
 * flooded from many addresses.
 */
const fieldBudget = z
  .object({
    perAddress: budget.optional(),
    perArgument: budget
      .extend({ argument: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/) })
      .strict()
      .optional(),
  })
  .strict();

/** What one operation may ask for; the same limits apply at the gateway and at every subgraph. */
const operationLimits = z
  .object({
    /** Deepest nesting of fields (introspection's own fields are not counted). */
    maxDepth: z.number().int().positive(),
    /** Aliased fields in one operation. */
    maxAliases: z.number().int().nonnegative(),
    /** Fields selected at the root of one operation (aliases included). */
    maxRootFields: z.number().int().positive(),
    /** Directives used in one document. */
    maxDirectives: z.number().int().nonnegative(),
    /** Lexical tokens in one document (counted before it is parsed). */
    maxTokens: z.number().int().positive(),
    /** Estimated cost: each field costs 1, and a list's selection counts once per item it may return. */
    maxCost: z.number().int().positive(),
    /** Items assumed for a list field whose size no `first`/`last` argument states. */
    defaultListSize: z.number().int().positive(),
    /** Largest JSON answer a service sends (and the gateway accepts from a subgraph). */
    maxResponseBytes: byteSize,
  })
  .strict();

const serviceSchema = z
  .object({
    /** Port the subgraph listens on (0 picks a free one). */
    port,
    /** Where the gateway reaches this subgraph's GraphQL endpoint. */
    url: url.optional(),
    /** Overrides `database.url` for this subgraph only. */
    databaseUrl: url.nullable().optional(),
    /** Postgres schema holding this subgraph's tables; defaults to the module name. */
    dbSchema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier')
      .optional(),
  })
  .strict();

export const platformConfigSchema = z
  .object({
    env: z.enum(['development', 'production', 'test']),
    /** Root of embedded data: PGlite directories, keys, mail outbox. */
    dataDir: z.string().min(1),
    host: z.string().min(1),
    /** Seed demo users and posts at start (development). */
    demoData: z.boolean(),
    database: z
      .object({
        /** PostgreSQL URL; unset means embedded PGlite under `dataDir/<module>`. */
        url: url.nullable(),
        poolMax: z.number().int().min(1).max(200),
        /** Log every SQL statement at debug level. */
        debug: z.boolean(),
        /** Run pending migrations at start (off when an operator runs `platformctl migrate`). */
        migrateOnStart: z.boolean(),
        /** PostgreSQL cancels a statement running longer than this (0: no limit). */
        statementTimeoutMs: z.number().int().nonnegative(),
      })
      .strict(),
    redis: z
      .object({
        url: url.nullable(),
        /** Namespace of every key the platform writes (streams, rate limits), so deployments can share a Redis. */
        keyPrefix: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits and : _ - only'),
      })
      .strict(),
    cache: cacheSchema,
    jobs: jobsSchema,
    auth: z
      .object({
        /** `iss` of access tokens: identity's public base URL. */
        issuer: z.string().min(1),
        /** `aud` of access tokens: the platform's API. */
        audience: z.string().min(1),
        /** Access-token lifetime; also how long a revocation must be remembered. */
        accessTokenTtlSec: z.number().int().min(30).max(3600),
        /** Where services fetch identity's public keys; default: identity's URL + /.well-known/jwks.json. */
        jwksUrl: url.nullable(),
        /**
         * Longest a service serves a user's cached permissions. authz's events drop them at once;
         * this bounds staleness only if such an event is missed.
         */
        permissionCacheTtlSec: z.number().int().min(1).max(3600).default(60),
        /**
         * A revoked session or deleted user is refused everywhere within this time, with or
         * without the event bus: each service reads identity's revocations every third of it, and
         * refuses signed-in requests (UNAVAILABLE) when it could not for this long.
         */
        revocationBoundSec: z.number().int().min(1).max(300),
        /**
         * The deployment's shared secret between its services (`SERVICE_SECRET` or
         * `SERVICE_SECRET_FILE`): the gateway signs the client address it forwards with it.
         * Unset outside production: one is generated under `dataDir`.
         */
        serviceSecret: z.string().min(32, 'must be at least 32 characters').nullable(),
        /**
         * The service that issues access tokens (its keys, revocations and revocation events: the
         * kernel's access-token contract). Every service and the gateway find it under `services`.
         */
        tokenService: serviceName.default('identity'),
        /** The service that computes permissions (the kernel's permissions contract). */
        permissionService: serviceName.default('authz'),
      })
      .strict(),
    smtp: z
      .object({
        url: url.nullable(),
        from: z.string().min(3),
        /** Tries in all to deliver one mail (`runtime.mail`) before its job is dead. */
        attempts: z.number().int().min(1).max(30).default(8),
        /** The first retry's delay; each next one doubles it (8 tries from 30 s span about an hour). */
        backoffMs: z.number().int().nonnegative().default(30_000),
      })
      .strict(),
    files: filesSchema.default(FILES_DEFAULTS),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
        /** Human-readable lines instead of JSON. */
        pretty: z.boolean(),
      })
      .strict(),
    http: z
      .object({
        /** Largest accepted request body, in bytes or with a unit (`1mb`). */
        bodyLimit: byteSize,
        /**
         * Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` names the client. Empty:
         * the peer address is the client, whatever headers say.
         */
        trustedProxies: z.array(
          z.string().refine(isProxySpec, 'an IP address, a CIDR range (10.0.0.0/8), or loopback/linklocal/uniquelocal'),
        ),
        requestTimeoutMs: z.number().int().positive(),
        /** How long a graceful shutdown waits for in-flight requests. */
        shutdownTimeoutMs: z.number().int().positive(),
        cors: z
          .object({
            /** Allowed origins; `*` allows any (without credentials). */
            origins: z.array(z.string().min(1)),
            credentials: z.boolean(),
          })
          .strict(),
      })
      .strict(),
    metrics: z
      .object({
        /**
         * `/metrics` answers only the service credential (Prometheus: `Authorization: Bearer …`).
         * On in production; off in development so `curl localhost:4001/metrics` keeps working.
         */
        requireCredential: z.boolean(),
      })
      .strict(),
    tracing: z
      .object({
        /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; unset exports nothing. */
        otlpEndpoint: url.nullable(),
        /** Fraction of new traces sampled (0..1); incoming sampled parents are always kept. */
        sampleRatio: z.number().min(0).max(1),
      })
      .strict(),
    /** The error bus (kernel/src/error-bus): every unexpected error is logged and counted, and sent to Sentry when set. */
    errors: z
      .object({
        sentry: z
          .object({
            /** SENTRY_DSN: where events go (only there); unset sends nothing and loads no Sentry code. */
            dsn: url.nullable(),
            /** SENTRY_ENVIRONMENT; unset: Sentry's default (`production`). */
            environment: z.string().min(1).nullable(),
            /** SENTRY_RELEASE: the deployed version, to tell regressions apart. */
            release: z.string().min(1).nullable(),
            /** Fraction of errors sent (0..1). */
            sampleRate: z.number().min(0).max(1),
            /** At shutdown (and after a process-level failure), how long queued events may take to leave. */
            flushTimeoutMs: z.number().int().nonnegative(),
          })
          .strict(),
      })
      .strict()
      .default({ sentry: { dsn: null, environment: null, release: null, sampleRate: 1, flushTimeoutMs: 2000 } }),
    gateway: z
      .object({
        port,
        /** Committed supergraph SDL, hot-reloaded when it changes. */
        supergraphPath: z.string().min(1),
        /** Compose from the running subgraphs instead of the file (development only). */
        introspectAndCompose: z.boolean(),
        pollIntervalMs: z.number().int().positive(),
        /**
         * What a browser's GET /graphql shows: Apollo Sandbox (loaded from Apollo's CDN), GraphiQL
         * (bundled, works offline), or nothing. Unless `off`, GraphiQL is also on `/graphiql`.
         */
        explorer: z.enum(['sandbox', 'graphiql', 'off']),
        /** Replaced by `explorer`; named here so an old config says what to write instead. */
        sandbox: z
          .never({ error: 'gateway.sandbox was replaced by gateway.explorer: sandbox | graphiql | off' })
          .optional(),
        introspection: z.boolean(),
        /** Time allowed for one subgraph fetch. */
        subgraphTimeoutMs: z.number().int().positive(),
        /** Identical subgraph queries in flight at once (same caller, same body) share one call. */
        dedupeInflightQueries: z.boolean().default(true),
        limits: operationLimits,
        /**
         * Operations per client: shared by every instance through Redis when configured, else
         * per process. Anonymous callers count per address, signed-in ones per user.
         */
        rateLimits: z
          .object({
            enabled: z.boolean(),
            anonymous: budget,
            signedIn: budget,
            /** Tighter budgets for chosen root fields, keyed `Mutation.register`. */
            fields: z.record(z.string().regex(/^(Query|Mutation|Subscription)\.[A-Za-z_][A-Za-z0-9_]*$/), fieldBudget),
          })
          .strict(),
        /** GraphQL subscriptions over graphql-ws on the gateway's `/graphql`. */
        subscriptions: z
          .object({
            /** Operations one socket may run at once (subscriptions, plus queries in flight). */
            maxSubscriptionsPerConnection: z.number().int().positive(),
            /** Sockets one signed-in user may hold open at once (anonymous sockets are not counted per user). */
            maxConnectionsPerUser: z.number().int().positive(),
            /** Sockets one client address may hold open at once, guests included. */
            maxConnectionsPerAddress: z.number().int().positive(),
            /** Operations running at once over all sockets of one client address. */
            maxSubscriptionsPerAddress: z.number().int().positive(),
            /** Interval of the server's ping frames; a peer that misses one is disconnected. */
            keepAliveMs: z.number().int().positive(),
            /** Time a new socket has to send `connection_init` before it is closed (4408). */
            connectionInitTimeoutMs: z.number().int().positive(),
            /**
             * Subscriptions with provably the same answers share one upstream subscription (docs/subscriptions.md);
             * false runs every subscription on its own, per client socket.
             */
            sharing: z.boolean().default(true),
          })
          .strict(),
      })
      .strict(),
    services: z.record(serviceName, serviceSchema),
    /** Module-specific sections, each validated by that module's own schema. */
    modules: z.record(z.string(), z.record(z.string(), z.unknown())),
    /**
     * Plain environment variables beside the kernel's own (DATABASE_URL, SERVICE_SECRET, …) and
     * `PLATFORM_*`: name → config path, each also read from the file `<NAME>_FILE` names. A
     * `secret` is taken as written and refused in production when it holds a development default.
     * Modules declare theirs here (identity's SEED_ADMIN_PASSWORD, SIGNING_KEY_ENCRYPTION_KEY).
     */
    environment: z
      .record(z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an environment variable name (A-Z, 0-9, _)'), envVariable)
      .default({}),
  })
  .strict();

export type OperationLimits = z.infer<typeof operationLimits>;
export type RateBudget = z.infer<typeof budget>;
export type FieldBudget = z.infer<typeof fieldBudget>;
export type PlatformConfig = z.infer<typeof platformConfigSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
