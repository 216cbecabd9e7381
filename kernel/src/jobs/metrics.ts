import { Counter, Gauge, Histogram } from 'prom-client';
import { outsideRequest } from '../http/request-context.js';
import type { ServiceMetrics } from '../metrics/metrics.js';

/** How a try ended: `failed` will be retried, `dead` was the last. */
export type TryOutcome = 'completed' | 'failed' | 'dead';

/** The jobs service's metrics, on the service's registry. */
export class JobMetrics {
  readonly total: Counter<'queue' | 'status'>;
  readonly duration: Histogram<'queue'>;

  /** `waiting` answers the jobs waiting (due or delayed) per full queue name, read at each scrape. */
  constructor(metrics: ServiceMetrics, waiting: () => Promise<Record<string, number>>) {
    const registers = [metrics.registry];
    this.total = new Counter({
      name: 'jobs_total',
      help: 'Tries of background jobs by queue and status: completed, failed (will be retried) or dead (the last try failed)',
      labelNames: ['queue', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'job_duration_seconds',
      help: 'Duration of one try of a background job, by queue',
      labelNames: ['queue'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    new Gauge({
      name: 'jobs_waiting',
      help: 'Background jobs waiting to run (due or delayed), by queue',
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        // A store that cannot answer (Redis away) leaves the gauge empty rather than fail the whole
        // scrape. The count is the scrape's own background work, not a statement of the request.
        const counts = await outsideRequest(waiting).catch(() => ({}));
        for (const [queue, count] of Object.entries(counts)) this.set({ queue }, count);
      },
    });
  }

  observe(queue: string, outcome: TryOutcome, seconds: number): void {
    this.total.inc({ queue, status: outcome });
    this.duration.observe({ queue }, seconds);
  }
}
