import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Delivery } from './delivery.js';

/** The gateway's subscription metrics, in its service registry (`GET /metrics`). */
export class SubscriptionMetrics {
  readonly connections: Gauge;
  readonly subscriptions: Gauge;
  readonly delivered: Counter<'field'>;
  readonly latency: Histogram<'field'>;
  readonly closed: Counter<'code'>;
  readonly fanOut: Histogram;
  readonly dropped: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.connections = new Gauge({
      name: 'graphql_ws_connections_active',
      help: 'Client graphql-ws sockets open (acknowledged) on this gateway',
      registers,
    });
    this.subscriptions = new Gauge({
      name: 'graphql_subscriptions_active',
      help: 'Subscriptions running on this gateway',
      registers,
    });
    this.delivered = new Counter({
      name: 'graphql_subscription_events_total',
      help: 'Subscription events sent to clients, by root field',
      labelNames: ['field'],
      registers,
    });
    this.latency = new Histogram({
      name: 'graphql_subscription_delivery_seconds',
      help: 'Time from publication in the subgraph to the event being written to the sockets of a subscription group (one observation per event and group), by root field',
      labelNames: ['field'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.fanOut = new Histogram({
      name: 'graphql_subscription_fanout_seconds',
      help: "Time to write one event to every socket of a subscription group (the group's share of delivery latency)",
      buckets: [0.0001, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.dropped = new Counter({
      name: 'graphql_subscription_frames_dropped_total',
      help: 'Subscription events not written to a client that left too much unread (a slow consumer)',
      registers,
    });
    this.closed = new Counter({
      name: 'graphql_ws_closes_total',
      help: 'Client sockets closed by the gateway, by close code',
      labelNames: ['code'],
      registers,
    });
  }

  /** One event written to `sockets` sockets (of one subscription, or of a group sharing one) in `writeSeconds`. */
  recordDelivery(delivery: Delivery | undefined, sockets: number, writeSeconds: number): void {
    if (sockets > 0) this.fanOut.observe(writeSeconds);
    if (!delivery || sockets === 0) return;
    this.delivered.inc({ field: delivery.field }, sockets);
    if (delivery.publishedAt === undefined) return;
    const seconds = Math.max(0, Date.now() - delivery.publishedAt) / 1000;
    // Every socket of a group got the event at the same moment: one observation, not one per socket.
    this.latency.observe({ field: delivery.field }, seconds);
  }
}
