import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import bytes from 'bytes';
import type { RequestHandler } from 'express';
import type { OperationLimits } from '../config/schema.js';
import { ErrorCode, QueryTooComplexError } from '../errors.js';
import { currentRequest } from '../http/request-context.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { errorBody } from '../http/server.js';
import { checkOperation, checkTokens } from './operation-limits.js';

/**
 * The token limit, as Express middleware in front of GraphQL (after the JSON body is read): a
 * document over `limits.maxTokens` is refused with 400 QUERY_TOO_COMPLEX before Apollo parses
 * or validates it, whatever its size up to the body limit. Batches are checked item by item; a
 * persisted-query hash without a document passes (it was checked when registered).
 */
export function tokenLimit(limits: Pick<OperationLimits, 'maxTokens'>, metrics?: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const body = req.body as unknown;
    const items = Array.isArray(body) ? body : [req.method === 'GET' ? req.query : body];
    for (const item of items) {
      const query = (item as { query?: unknown } | null | undefined)?.query;
      if (typeof query !== 'string') continue;
      try {
        checkTokens(query, limits);
      } catch (error) {
        if (!(error instanceof QueryTooComplexError)) throw error;
        metrics?.refusals.inc({ reason: error.limit });
        const { http: _http, ...extensions } = error.extensions;
        void _http;
        res.status(400).json(errorBody(error.message, error.code, extensions));
        return;
      }
    }
    next();
  };
}

/**
 * `gateway.limits` for an Apollo Server (the gateway and every subgraph): depth, aliases, root
 * fields, directives and cost are measured once the operation is known (cost needs the
 * request's variables), before anything executes. A refusal is HTTP 400 with QUERY_TOO_COMPLEX.
 * Tokens are counted earlier, before parsing (see tokenLimit).
 */
export function operationLimitsPlugin(
  limits: OperationLimits,
  metrics?: ServiceMetrics,
): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return;
          try {
            checkOperation(schema, document, operation, request.variables, limits);
          } catch (error) {
            if (error instanceof QueryTooComplexError) metrics?.refusals.inc({ reason: error.limit });
            throw error;
          }
        },
      };
    },
  };
}

/** A configured size (`8mb`, `512kb`, or a number of bytes) in bytes, read as Express reads `http.bodyLimit`. */
export function bytesOf(size: string | number): number {
  return typeof size === 'number' ? size : bytes.parse(size)!;
}

/**
 * Apollo's `stringifyResult` with a ceiling: an answer larger than `maxBytes` is replaced by a
 * RESPONSE_TOO_LARGE error rather than sent. The cost limit keeps answers far below it; this
 * guards what cost cannot see (long strings, a misbehaving resolver).
 */
export function boundedStringify(maxBytes: number): (value: unknown) => string {
  return (value) => {
    const text = JSON.stringify(value);
    // A UTF-8 byte is at least a UTF-16 unit and at most three: count bytes only when it may matter.
    if (text.length * 3 <= maxBytes || Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
    const requestId = currentRequest()?.requestId;
    return JSON.stringify({
      errors: [
        {
          message: `The answer exceeds ${maxBytes} bytes; ask for fewer items or fields`,
          extensions: { code: ErrorCode.RESPONSE_TOO_LARGE, max: maxBytes, ...(requestId ? { requestId } : {}) },
        },
      ],
    });
  };
}
