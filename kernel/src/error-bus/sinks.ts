import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { ERROR_KINDS, type ErrorReport, type ErrorSink } from './error-bus.js';

/**
 * One error line per report, with every field known (the request's fields come from the
 * logger's mixin too; the report's win where a job or an event knows better).
 */
export function logSink(logger: Pick<Logger, 'error'>): ErrorSink {
  return {
    name: 'log',
    capture({ error, message, extra, ...fields }: ErrorReport): void {
      logger.error({ ...extra, ...fields, err: error }, message);
    },
  };
}

const counters = new WeakMap<Registry, Counter<'module' | 'kind'>>();

/**
 * `errors_total{module,kind}` on the service's registry, every kind at 0 from the start, so a
 * dashboard or an alert (`increase(errors_total[5m]) > 0`) has its series before the first error.
 */
export function metricSink(registry: Registry, module: string): ErrorSink {
  let counter = counters.get(registry);
  if (!counter) {
    counter = new Counter({
      name: 'errors_total',
      help: 'Unexpected errors published to the error bus, by module and kind (resolver, http, job, consumer, subgraph, process, background)',
      labelNames: ['module', 'kind'],
      registers: [registry],
    });
    counters.set(registry, counter);
  }
  for (const kind of ERROR_KINDS) counter.inc({ module, kind }, 0);
  const errors = counter;
  return {
    name: 'metric',
    capture(report: ErrorReport): void {
      errors.inc({ module: report.module, kind: report.kind });
    },
  };
}
