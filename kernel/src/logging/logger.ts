import { pino, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import { trace } from '@opentelemetry/api';
import type { PlatformConfig } from '../config/schema.js';
import { currentRequest } from '../http/request-context.js';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'accessToken',
  'refreshToken',
  'secret',
  'authorization',
  '*.password',
  '*.newPassword',
  '*.currentPassword',
  '*.token',
  '*.user.token',
  '*.accessToken',
  '*.refreshToken',
  '*.secret',
  '*.authorization',
  'variables.*.password',
  'variables.password',
  'variables.newPassword',
  'variables.currentPassword',
  'variables.token',
  'variables.refreshToken',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'res.headers["set-cookie"]',
];

/**
 * The root logger of one service. Every line carries `module`, and, inside a request, the
 * request's `requestId`, `userId` and the active `traceId`/`spanId` (through `mixin`), so a
 * child logger is not needed to correlate lines.
 */
export function createLogger(
  config: Pick<PlatformConfig, 'log'>,
  module: string,
  destination?: pino.DestinationStream,
): Logger {
  const options: LoggerOptions = {
    level: config.log.level,
    base: { module },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const fields: Record<string, string> = {};
      const span = trace.getActiveSpan()?.spanContext();
      if (span && span.traceId !== '00000000000000000000000000000000') {
        fields.traceId = span.traceId;
        fields.spanId = span.spanId;
      }
      const request = currentRequest();
      if (request) {
        fields.requestId = request.requestId;
        if (request.userId) fields.userId = request.userId;
        if (request.organizationId) fields.organizationId = request.organizationId;
      }
      return fields;
    },
  };
  if (destination) return pino(options, destination);
  if (config.log.pretty) {
    return pino(
      options,
      pretty({ sync: true, colorize: process.stdout.isTTY, ignore: 'pid,hostname', messageKey: 'msg' }),
    );
  }
  return pino(options);
}
