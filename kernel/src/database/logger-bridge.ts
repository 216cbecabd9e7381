import { currentRequest } from '../http/request-context.js';
import type { Logger as OrmLogger, LogContext, LoggerNamespace } from '@mikro-orm/core';
import { SpanKind, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { tracer } from '../tracing/tracing.js';

/**
 * MikroORM's logger, turned into observability: every statement feeds the
 * `db_query_duration_seconds` histogram and becomes a `db.query` span under the active
 * request span; with `database.debug` the SQL is logged too (parameters never are).
 */
export class OrmLoggerBridge implements OrmLogger {
  #debug: boolean;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: ServiceMetrics,
    private readonly dbSchema: string,
    debug: boolean,
  ) {
    this.#debug = debug;
  }

  log(namespace: LoggerNamespace | string, message: string): void {
    this.logger.debug({ namespace }, message);
  }
  error(namespace: LoggerNamespace | string, message: string): void {
    this.logger.error({ namespace }, message);
  }
  warn(namespace: LoggerNamespace | string, message: string): void {
    this.logger.warn({ namespace }, message);
  }
  setDebugMode(debugMode: boolean | LoggerNamespace[]): void {
    this.#debug = debugMode === true || (Array.isArray(debugMode) && debugMode.includes('query'));
  }
  isEnabled(): boolean {
    return true;
  }

  logQuery(context: LogContext): void {
    const sql = String(context.query ?? '');
    const tookMs = typeof context.took === 'number' ? context.took : 0;
    const request = currentRequest();
    this.metrics.observeQuery(sql, tookMs / 1000, !request ? 'background' : request.internal ? 'internal' : 'request');
    if (trace.getActiveSpan()) {
      const end = Date.now();
      const span = tracer().startSpan('db.query', {
        kind: SpanKind.CLIENT,
        startTime: end - tookMs,
        attributes: {
          'db.system.name': 'postgresql',
          'db.namespace': this.dbSchema,
          'db.query.text': sql.length > 2000 ? `${sql.slice(0, 2000)}…` : sql,
        },
      });
      if (context.level === 'error') span.setAttribute('error.type', 'query_failed');
      span.end(end);
    }
    if (this.#debug) this.logger.debug({ sql, tookMs }, 'sql');
  }
}
