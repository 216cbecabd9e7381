import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import bytes from 'bytes';
import type { OperationLimits } from '../config/schema.js';
import { ErrorCode } from '../errors.js';
import { currentRequest } from '../http/request-context.js';
import { checkOperation, checkTokens } from './operation-limits.js';

/**
 * `gateway.limits` for an Apollo Server (the gateway and every subgraph): tokens are counted
 * before the document is parsed; depth, aliases, root fields, directives and cost are measured
 * once the operation is known (cost needs the request's variables), before anything executes.
 * A refusal is HTTP 400 with QUERY_TOO_COMPLEX.
 */
export function operationLimitsPlugin(limits: OperationLimits): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async parsingDidStart({ source }) {
          checkTokens(source, limits);
        },
        async didResolveOperation({ schema, document, operation, request }) {
          if (operation) checkOperation(schema, document, operation, request.variables, limits);
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
