import { randomUUID } from 'node:crypto';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { Router } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { ErrorReporter } from '../error-bus/error-bus.js';
import { AuthenticationError, PlatformError } from '../errors.js';
import { serveAccessTokens } from '../contracts/access-tokens.js';
import { LocalFileStorage } from '../files/local.js';
import { localFileRoutes } from '../files/local-routes.js';
import { platformApolloOptions } from '../graphql/apollo.js';
import { jobsRoutes } from '../jobs/operate.js';
import { diagnosticsRoutes } from './diagnostics.js';
import { loaderFactory, type AuthenticatedUser, type GraphQLContext } from '../graphql/context.js';
import { permissionCheck } from '../graphql/permissions.js';
import { buildModuleSchema } from '../graphql/schema.js';
import { asksSharedAnswer, sharedAnswerContext, sharedAnswerPlugin } from '../graphql/shared-answer.js';
import type { Readiness } from '../health/health.js';
import { currentRequest } from '../http/request-context.js';
import { HttpService } from '../http/server.js';
import { rootFieldNodes } from '../limits/operation-limits.js';
import { tokenLimit } from '../limits/plugin.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import type { ModuleDefinition, ModuleRuntime } from '../module/define.js';
import {
  isServiceCredential,
  requireServiceCredential,
  SERVICE_CREDENTIAL_HEADER,
} from '../security/service-credential.js';
import { guardSubscriptionFields } from '../subscriptions/guard.js';
import { serveSubgraphSubscriptions, type SubscriptionServer } from '../subscriptions/subgraph-server.js';
import type { ServiceAuth } from './auth.js';
import type { Teardown } from './teardown.js';

export interface GraphQLServiceOptions {
  metrics: ServiceMetrics;
  readiness: Readiness;
  teardown: Teardown;
  auth: ServiceAuth;
  /** The deployment's service secret (verifies the client address the gateway signs). */
  secret: string;
  /** Its credential: internal routes, `_service`, and `/metrics` in production. */
  credential: string;
  /** Hears each refused service credential (route, whether one was presented). */
  credentialRefused: (path: string, presented: boolean) => void;
  /** Where masked resolver errors and unhandled route errors are published. */
  errors: ErrorReporter;
}

/** A module's GraphQL service, built but not yet listening. */
export interface GraphQLService {
  http: HttpService;
  schema: GraphQLSchema;
  sdl: string;
  /** graphql-ws on the same port and path, for the gateway's subscriptions. */
  sockets: SubscriptionServer;
}

/**
 * The module's schema with its rules, served as a Federation 2 subgraph: `/graphql` over HTTP
 * (Apollo Server) and graphql-ws, the kernel's contract routes the module implements, its own
 * routes, and the service credential on `/internal/*`.
 */
export async function serveGraphQL<Config, Services>(
  module: ModuleDefinition<Config, Services>,
  runtime: ModuleRuntime<Config>,
  services: Services,
  options: GraphQLServiceOptions,
): Promise<GraphQLService> {
  const { platform, logger } = runtime;
  const { schema, sdl } = await buildModuleSchema({
    module: module.manifest.name,
    resolvers: module.resolvers,
    orphanedTypes: module.orphanedTypes,
    references: module.references,
    rules: module.rules,
    permissions: module.manifest.permissions.map((p) => p.name),
  });
  guardSubscriptionFields(schema, module.rules);

  const http = new HttpService({
    config: platform,
    logger,
    metrics: options.metrics,
    readiness: options.readiness,
    sandbox: platform.env === 'development',
    // The gateway says who the client is, signed with the deployment's secret.
    clientAddressSecret: options.secret,
    metricsCredential: platform.metrics.requireCredential ? options.credential : undefined,
    onCredentialRefused: options.credentialRefused,
    errors: options.errors,
  });
  const context = operationContexts(runtime, services, options.auth);
  await serveHttpGraphQL(http, schema, runtime, context, options);
  // Internal routes answer only the deployment's services.
  http.app.use('/internal', requireServiceCredential(options.credential, { onRefused: options.credentialRefused }));
  // Every module's queues, schedules and dead jobs (`platformctl jobs`).
  http.app.use(jobsRoutes(runtime.jobs));
  // Its migrations, outbox and queues (`platformctl doctor`).
  http.app.use(diagnosticsRoutes(runtime as ModuleRuntime<unknown>));
  // Local storage's signed URLs (the gateway forwards its own `/files/<module>/…` here).
  if (runtime.files instanceof LocalFileStorage) {
    http.app.use(`/files/${module.manifest.name}`, localFileRoutes(runtime.files, logger));
  }
  const { tokens } = options.auth;
  if (tokens || module.routes) {
    const router = Router();
    if (tokens) serveAccessTokens(router, tokens);
    module.routes?.(router, runtime, services, {
      authenticate: async (req) => (await options.auth.authenticate(req)) ?? undefined,
      permissionsOf: (user) => options.auth.permissions.permissionsOf(user),
    });
    http.app.use(router);
  }
  http.finish();

  const sockets = serveSubgraphSubscriptions({
    server: http.server,
    schema,
    logger,
    errors: options.errors,
    verifier: options.auth.verifier,
    revocations: options.auth.revocations.list,
    keepAliveMs: platform.gateway.subscriptions.keepAliveMs,
    connectionInitTimeoutMs: platform.gateway.subscriptions.connectionInitTimeoutMs,
    context: (user, sharedAnswer) => context(randomUUID(), user, sharedAnswer),
  });
  return { http, schema, sdl, sockets };
}

type OperationContext<Services> = (
  requestId: string,
  user: AuthenticatedUser | undefined,
  sharedAnswer?: boolean,
  signal?: AbortSignal,
) => GraphQLContext<Services>;

/**
 * What a resolver gets for one operation (over HTTP, or one subscription event over graphql-ws);
 * for a shared answer, one that hides who the caller is (see sharedAnswerContext).
 */
function operationContexts<Config, Services>(
  runtime: ModuleRuntime<Config>,
  services: Services,
  auth: ServiceAuth,
): OperationContext<Services> {
  return (requestId, user, sharedAnswer = false, signal) => {
    const context: GraphQLContext<Services> = {
      requestId,
      signal,
      em: runtime.db.fork(),
      logger: runtime.logger,
      user,
      can: permissionCheck(auth.permissions, user),
      services,
      loader: loaderFactory(),
    };
    return sharedAnswer ? sharedAnswerContext(context, auth.permissions) : context;
  };
}

/** `/graphql` over HTTP: Apollo Server behind the body and token limits, the caller resolved per request. */
async function serveHttpGraphQL<Config, Services>(
  http: HttpService,
  schema: GraphQLSchema,
  runtime: ModuleRuntime<Config>,
  context: OperationContext<Services>,
  options: GraphQLServiceOptions,
): Promise<void> {
  const { platform, logger } = runtime;
  const apollo = new ApolloServer<GraphQLContext<Services>>({
    schema,
    ...platformApolloOptions({
      logger,
      metrics: options.metrics,
      introspection: platform.gateway.introspection,
      sandbox: platform.env === 'development',
      limits: platform.gateway.limits,
      errors: options.errors,
      plugins: [
        ApolloServerPluginInlineTraceDisabled(),
        rejectBadCredentials(),
        sharedAnswerPlugin(),
        serviceFieldsPlugin(options.credential, options.credentialRefused),
      ],
    }),
  });
  await apollo.start();
  options.teardown.add(() => apollo.stop());

  http.registerRoute('/graphql');
  http.app.use(
    '/graphql',
    ...http.jsonBody(),
    tokenLimit(platform.gateway.limits, options.metrics),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const request = currentRequest();
        let user: AuthenticatedUser | undefined;
        let authError: PlatformError | undefined;
        try {
          user = (await options.auth.authenticate(req)) ?? undefined;
        } catch (error) {
          // A bad token fails the operation (see rejectBadCredentials), not the HTTP request.
          if (!(error instanceof PlatformError)) throw error;
          authError = error;
          logger.info({ reason: (error as { reason?: string }).reason }, 'access token rejected');
        }
        if (request && user) request.userId = user.id;
        if (request && user?.apiKeyId) request.apiKeyId = user.apiKeyId;
        if (request && user?.organizationId) request.organizationId = user.organizationId;
        const operation = context(
          request?.requestId ?? 'unknown',
          user,
          asksSharedAnswer(req.headers),
          request?.signal,
        );
        return authError ? { ...operation, authError } : operation;
      },
    }),
  );
}

/**
 * A request whose token was refused gets UNAUTHENTICATED for the whole operation: it is not
 * quietly served as anonymous. Raised once the operation is known, so the answer is a normal
 * GraphQL response that the gateway relays with its code.
 */
function rejectBadCredentials(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ contextValue }) {
          const error = (contextValue as GraphQLContext & { authError?: PlatformError }).authError;
          if (error) {
            // Apollo answers errors raised here with 500 unless told otherwise; to the gateway a
            // 200 with errors is a GraphQL answer it relays as is (message and code).
            error.extensions.http = { status: 200 };
            throw error;
          }
        },
      };
    },
  };
}

/**
 * `_service` (the subgraph's SDL, for composition) answers only the deployment's services: 401
 * UNAUTHENTICATED otherwise, before anything runs.
 */
function serviceFieldsPlugin(
  credential: string,
  refused: (path: string, presented: boolean) => void,
): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (!operation || !rootFieldNodes(document, operation).some((field) => field.name.value === '_service'))
            return;
          const presented = request.http?.headers.get(SERVICE_CREDENTIAL_HEADER) ?? undefined;
          if (isServiceCredential(credential, presented)) return;
          refused('_service', presented !== undefined);
          const error = new AuthenticationError(
            '`_service` is for the platform’s services: present the service credential',
          );
          error.extensions.http = { status: 401 };
          throw error;
        },
      };
    },
  };
}
