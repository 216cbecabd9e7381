import type { ApolloServerOptionsWithStaticSchema, ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { noteOperation, type ErrorReporter } from '../error-bus/error-bus.js';
import { maskError } from '../errors.js';
import {
  clientErrorsPlugin,
  foundBeforeValidationRule,
  knownOperationTypesRule,
  reservedAliasesRule,
  withoutSuggestions,
  withRequestErrorCode,
} from './client-errors.js';
import { currentRequest } from '../http/request-context.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import type { OperationLimits } from '../config/schema.js';
import { boundedStringify, bytesOf, operationLimitsPlugin } from '../limits/plugin.js';

/** Counts operations by name, type and outcome, and times them. */
export function metricsPlugin(metrics: ServiceMetrics): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operation, operationName, errors, response }) {
          const type = operation?.operation ?? 'unknown';
          const outcome = !operation ? 'invalid' : errors?.length || hasErrors(response.body) ? 'error' : 'success';
          metrics.graphqlOperations.inc({
            operation_name: metrics.operationLabel(operationName),
            operation_type: type,
            outcome,
          });
          metrics.countErrors(operationName, errorCodes(response.body));
          metrics.graphqlDuration.observe(
            { operation_type: type, outcome },
            Number(process.hrtime.bigint() - started) / 1e9,
          );
        },
      };
    },
  };
}

/** The `extensions.code` of each error of a single (not incremental) response, as the client receives it. */
function errorCodes(body: unknown): unknown[] {
  const single = (body as { singleResult?: { errors?: Array<{ extensions?: { code?: unknown } }> } }).singleResult;
  return (single?.errors ?? []).map((error) => error.extensions?.code);
}

function hasErrors(body: unknown): boolean {
  const single = (body as { kind?: string; singleResult?: { errors?: unknown[] } }).singleResult;
  return Boolean(single?.errors?.length);
}

/** Names the operation each request runs, for the errors published on its path (see noteOperation). */
export function operationNamePlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operationName }) {
          noteOperation(operationName);
        },
      };
    },
  };
}

/**
 * Masks unexpected errors and keeps expected ones, answering keyed messages in the request's
 * language (`Accept-Language`); what is masked goes to the error bus (logged
 * with the request id, counted, sent to Sentry), or only to the log without one. With
 * `hideSchemaDetails`, no message suggests field, argument or type names ("Did you mean …?").
 */
export function formatErrorWith(logger: Logger, options: { hideSchemaDetails?: boolean; errors?: ErrorReporter } = {}) {
  const message = 'unexpected error in GraphQL operation';
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const request = currentRequest();
    const masked = maskError(
      withRequestErrorCode(formatted, error),
      error,
      request?.requestId,
      (internal) => {
        const path = formatted.path?.join('.');
        // What the resolver threw (its type and stack), not GraphQL's wrapper around it.
        const thrown = (internal as { originalError?: unknown }).originalError ?? internal;
        if (options.errors) options.errors.report(thrown, { kind: 'resolver', message, ...(path ? { path } : {}) });
        else logger.error({ err: internal, path: formatted.path }, message);
      },
      // Keyed messages in the caller's language; the log above keeps English.
      request?.locale,
    );
    return options.hideSchemaDetails ? withoutSuggestions(masked) : masked;
  };
}

/**
 * Apollo Sandbox where wanted (the gateway with `gateway.explorer: sandbox`, subgraphs in
 * development), nothing elsewhere: the gateway serves its own GraphiQL before Apollo sees the
 * request (gateway/src/explorer.ts).
 */
export function landingPagePlugin(sandbox: boolean): ApolloServerPlugin<BaseContext> {
  return sandbox
    ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
    : ApolloServerPluginLandingPageDisabled();
}

/**
 * What every Apollo Server of the platform shares (subgraphs and gateway): masked errors,
 * client mistakes answered as such (4xx and a specific code, see clientErrorsPlugin), operation
 * metrics, no stack traces, CSRF prevention, no reporting to Apollo, and shutdown left to the
 * kernel. Field suggestions ("Did you mean …?") go with introspection: where the schema is not
 * shown (production), error messages do not spell it out either. No cache-control plugin: the
 * platform sets no `@cacheControl` hints and no HTTP cache sits in front of it, yet Apollo's
 * default plugin wraps every resolved field to compute a policy and a `cache-control` header
 * nobody reads (measured in docs/performance.md, "Gateway benchmark").
 */
export function platformApolloOptions(options: {
  logger: Logger;
  metrics: ServiceMetrics;
  introspection: boolean;
  /** Hide field suggestions in error messages; default: when introspection is off. */
  hideSchemaDetails?: boolean;
  sandbox: boolean;
  /** `gateway.limits`: what one operation may ask for, and the largest answer sent. */
  limits: OperationLimits;
  plugins?: ApolloServerPlugin<BaseContext>[];
  /** Where masked (unexpected) errors are published; without it they are only logged. */
  errors?: ErrorReporter;
}): Pick<
  ApolloServerOptionsWithStaticSchema<BaseContext>,
  | 'logger'
  | 'introspection'
  | 'hideSchemaDetailsFromClientErrors'
  | 'validationRules'
  | 'includeStacktraceInErrorResponses'
  | 'csrfPrevention'
  | 'stopOnTerminationSignals'
  | 'formatError'
  | 'plugins'
  | 'stringifyResult'
> {
  const hideSchemaDetails = options.hideSchemaDetails ?? !options.introspection;
  return {
    // Apollo's own messages ("Unexpected error processing request", cache warnings) go to the
    // service's log with the request's fields, not to the console.
    logger: options.logger,
    introspection: options.introspection,
    hideSchemaDetailsFromClientErrors: hideSchemaDetails,
    validationRules: [knownOperationTypesRule, reservedAliasesRule, foundBeforeValidationRule],
    includeStacktraceInErrorResponses: false,
    csrfPrevention: true,
    // The kernel owns shutdown (drain, hooks, database); Apollo's own handler re-raises the signal.
    stopOnTerminationSignals: false,
    formatError: formatErrorWith(options.logger, { hideSchemaDetails, errors: options.errors }),
    stringifyResult: boundedStringify(bytesOf(options.limits.maxResponseBytes)),
    plugins: [
      clientErrorsPlugin(),
      operationLimitsPlugin(options.limits, options.metrics),
      metricsPlugin(options.metrics),
      operationNamePlugin(),
      landingPagePlugin(options.sandbox),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ...(options.plugins ?? []),
    ],
  };
}
