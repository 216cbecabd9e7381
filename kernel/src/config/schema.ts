import { z } from 'zod';

/** The module names the platform ships; more can be added under `services`. */
export const DEFAULT_SERVICES = { identity: 4001, authz: 4002, audit: 4003, blog: 4004 } as const;

const port = z.number().int().min(0).max(65535);
const url = z.string().url();

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
      })
      .strict(),
    redis: z
      .object({
        url: url.nullable(),
        /** Namespace of every key the platform writes (streams, rate limits), so deployments can share a Redis. */
        keyPrefix: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits and : _ - only'),
      })
      .strict(),
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
      })
      .strict(),
    smtp: z.object({ url: url.nullable(), from: z.string().min(3) }).strict(),
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
        bodyLimit: z.union([z.string().regex(/^\d+(b|kb|mb)$/i), z.number().int().positive()]),
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
    tracing: z
      .object({
        /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; unset exports nothing. */
        otlpEndpoint: url.nullable(),
        /** Fraction of new traces sampled (0..1); incoming sampled parents are always kept. */
        sampleRatio: z.number().min(0).max(1),
      })
      .strict(),
    gateway: z
      .object({
        port,
        /** Committed supergraph SDL, hot-reloaded when it changes. */
        supergraphPath: z.string().min(1),
        /** Compose from the running subgraphs instead of the file (development only). */
        introspectAndCompose: z.boolean(),
        pollIntervalMs: z.number().int().positive(),
        /** Apollo Sandbox on GET /graphql. */
        sandbox: z.boolean(),
        introspection: z.boolean(),
        /** Time allowed for one subgraph fetch. */
        subgraphTimeoutMs: z.number().int().positive(),
        /** Identical subgraph queries in flight at once (same caller, same body) share one call. */
        dedupeInflightQueries: z.boolean().default(true),
        /** GraphQL subscriptions over graphql-ws on the gateway's `/graphql`. */
        subscriptions: z
          .object({
            /** Operations one socket may run at once (subscriptions, plus queries in flight). */
            maxSubscriptionsPerConnection: z.number().int().positive(),
            /** Sockets one signed-in user may hold open at once (anonymous sockets are not counted per user). */
            maxConnectionsPerUser: z.number().int().positive(),
            /** Interval of the server's ping frames; a peer that misses one is disconnected. */
            keepAliveMs: z.number().int().positive(),
            /** Time a new socket has to send `connection_init` before it is closed (4408). */
            connectionInitTimeoutMs: z.number().int().positive(),
          })
          .strict(),
      })
      .strict(),
    services: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), serviceSchema),
    /** Module-specific sections, each validated by that module's own schema. */
    modules: z.record(z.string(), z.record(z.string(), z.unknown())),
  })
  .strict();

export type PlatformConfig = z.infer<typeof platformConfigSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;
