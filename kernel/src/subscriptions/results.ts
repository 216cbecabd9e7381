import type { ExecutionResult, FormattedExecutionResult, GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import type { ErrorReporter } from '../error-bus/error-bus.js';
import { maskError } from '../errors.js';

/**
 * Formats a result for a socket with the same masking as HTTP responses: platform errors keep
 * their message and code, anything unexpected becomes INTERNAL_SERVER_ERROR: published on the
 * service's error bus (kind `resolver`, the operation's path) when given one, else logged here.
 */
export function maskResult(
  result: ExecutionResult | FormattedExecutionResult,
  logger: Logger,
  requestId?: string,
  bus?: ErrorReporter,
  /** The socket's language: keyed messages are answered in it (English by default). */
  locale?: string,
): FormattedExecutionResult {
  if (!result.errors?.length) return result as FormattedExecutionResult;
  const errors = result.errors.map((error) => {
    const formatted = typeof (error as GraphQLError).toJSON === 'function' ? (error as GraphQLError).toJSON() : error;
    return maskError(
      formatted,
      error,
      requestId,
      (internal) => {
        const message = 'unexpected error in GraphQL subscription';
        const path = formatted.path?.join('.');
        // What the resolver threw (its type and stack), not GraphQL's wrapper around it.
        const thrown = (internal as { originalError?: unknown }).originalError ?? internal;
        if (bus)
          bus.report(thrown, {
            kind: 'resolver',
            message,
            ...(path ? { path } : {}),
            ...(requestId ? { requestId } : {}),
          });
        else logger.error({ err: internal, path: formatted.path }, message);
      },
      locale,
    );
  });
  return { ...result, errors } as FormattedExecutionResult;
}

/** The `extensions.code` values of a result's errors. */
export function errorCodes(result: ExecutionResult | FormattedExecutionResult): string[] {
  return (result.errors ?? []).flatMap((error) => {
    const code = error.extensions?.code;
    return typeof code === 'string' ? [code] : [];
  });
}

/** Codes that mean "this caller may not see this": a subscription ends on them rather than repeat them each event. */
export const ACCESS_DENIED_CODES: ReadonlySet<string> = new Set(['FORBIDDEN', 'UNAUTHENTICATED']);
