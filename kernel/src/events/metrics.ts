import { Counter, Gauge } from 'prom-client';
import type { ModuleDatabase } from '../database/database.js';
import type { EventBus } from './bus.js';
import { quoteIdent } from './handle-once.js';
import { KERNEL_TOPICS } from './kernel-topics.js';
import { outsideRequest } from '../http/request-context.js';
import type { ServiceMetrics } from '../metrics/metrics.js';

/**
 * A module service's event metrics, on its registry: what its outbox relay published, by topic,
 * and how far the outbox is behind. Security dashboards and the lockout alert read
 * `events_published_total{topic="identity.lockout.started"}`; the outbox-lag alert reads
 * `outbox_oldest_pending_seconds`.
 */
export class EventMetrics {
  readonly published: Counter<'topic'>;

  /**
   * `topics`: what the module's manifest says it publishes; with the kernel's own topics each
   * starts at 0, so a dashboard or an alert sees the series before the first event of its kind.
   */
  constructor(metrics: ServiceMetrics, db: ModuleDatabase, topics: readonly string[]) {
    const registers = [metrics.registry];
    this.published = new Counter({
      name: 'events_published_total',
      help: "Events the module's outbox relay published to the event bus, by topic (at least once: a retry after a failure or a replay after the bus lost data counts again)",
      labelNames: ['topic'],
      registers,
    });
    for (const topic of new Set([...topics, ...KERNEL_TOPICS])) this.published.inc({ topic }, 0);

    const table = `${quoteIdent(db.schema)}.outbox`;
    let last: { at: number; report: Promise<{ pending: number; oldest: number } | undefined> } | undefined;
    // Both gauges come from one statement, taken at most once a second (a scrape reads both).
    const report = () => {
      if (!last || performance.now() - last.at > 1000) {
        last = {
          at: performance.now(),
          report: outsideRequest(async () => {
            const [row] = await db
              .fork()
              .execute<Array<{ pending: number | string; oldest: number | string | null }>>(
                `select count(*) as pending, extract(epoch from clock_timestamp() - min(occurred_at)) as oldest from ${table} where published_at is null`,
              );
            return { pending: Number(row?.pending ?? 0), oldest: Math.max(0, Number(row?.oldest ?? 0)) };
          }).catch(() => undefined),
        };
      }
      return last.report;
    };
    new Gauge({
      name: 'outbox_pending_events',
      help: 'Events recorded in the outbox and not yet published to the event bus',
      registers,
      async collect() {
        // A database that cannot answer reports NaN (unknown, never "nothing waits") rather than
        // fail the whole scrape; dependency_up{dependency="database"} says why.
        this.set((await report())?.pending ?? Number.NaN);
      },
    });
    new Gauge({
      name: 'outbox_oldest_pending_seconds',
      help: 'Age of the oldest event of the outbox not yet published (0 when none waits): how late subscribers and consumers are',
      registers,
      async collect() {
        this.set((await report())?.oldest ?? Number.NaN);
      },
    });
  }

  /** `bus`, counting what is published through it (give it to the outbox relay). */
  counting(bus: EventBus): EventBus {
    const published = this.published;
    return {
      kind: bus.kind,
      async publish(events) {
        await bus.publish(events);
        for (const event of Array.isArray(events) ? events : [events]) published.inc({ topic: event.topic });
      },
      subscribe: (pattern, handler, options) => bus.subscribe(pattern, handler, options),
      listen: (pattern, handler) => bus.listen(pattern, handler),
      onReset: bus.onReset ? (listener) => bus.onReset!(listener) : undefined,
      close: () => bus.close(),
    };
  }
}
