import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/schema.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { ErrorBus } from './error-bus.js';
import { logSink, metricSink } from './sinks.js';

export interface CreateErrorBusOptions {
  config: Pick<PlatformConfig, 'errors' | 'env'>;
  /** The service: a module's name, or `gateway`. */
  module: string;
  logger: Logger;
  metrics: ServiceMetrics;
}

/**
 * A service's error bus: the log and `errors_total` always, Sentry when `errors.sentry.dsn` is
 * set (its SDK is loaded only then). Close it last on the way down (`close(flushTimeoutMs)`), so
 * what the shutdown itself reports is still sent.
 */
export async function createErrorBus(options: CreateErrorBusOptions): Promise<ErrorBus> {
  const { config, module, logger, metrics } = options;
  const bus = new ErrorBus(
    module,
    [logSink(logger), metricSink(metrics.registry, module)],
    () => metrics.reportsProcessMetrics,
  );
  const { sentry } = config.errors;
  if (sentry.dsn) {
    const { sentrySink } = await import('./sentry.js');
    // Unset, the environment is the platform's (development, production…), not Sentry's default.
    bus.addSink(
      await sentrySink({ ...sentry, dsn: sentry.dsn, environment: sentry.environment ?? config.env }, logger),
    );
  }
  return bus;
}
