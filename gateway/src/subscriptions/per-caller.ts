import { randomUUID } from 'node:crypto';
import { context as otelContext } from '@opentelemetry/api';
import type { ExecutionArgs } from 'graphql';
import { EventStream } from '@platform/kernel';
import { type CloseReason } from '@platform/kernel/gateway';
import type { Delivery, DeliveryOptions, DeliveryStats, Subscriber, SubscriptionDelivery } from './delivery.js';
import type { SocketSession, SubscriptionResult } from './federated.js';
import { UpstreamConnections } from './upstream.js';

/** One client socket's upstream connections, and how many of its subscriptions use them. */
interface SocketUpstream {
  readonly upstream: UpstreamConnections;
  users: number;
}

/**
 * The plain path (`gateway.subscriptions.sharing: false`, and what sharing builds on): every
 * client subscription runs the federated path on its own, over its socket's upstream connections
 * (one socket per subgraph, with the caller's own token, closed with the socket's last
 * subscription), and each completed event is serialized and written to its socket alone. A
 * subgraph closing an upstream socket with 4401/4403 closes the client's socket with the same code.
 */
export class CallerSubscriptions implements SubscriptionDelivery {
  readonly #options: DeliveryOptions;
  /** By the subscriber's `identity` object: one per client socket, which all its subscriptions carry. */
  readonly #upstreams = new Map<object, SocketUpstream>();
  #upstreamSockets = 0;

  constructor(options: DeliveryOptions) {
    this.#options = options;
  }

  async subscribe(subscriber: Subscriber, args: ExecutionArgs): Promise<AsyncIterableIterator<never>> {
    const upstream = this.#acquire(subscriber);
    let last: Delivery | undefined;
    const session: SocketSession = {
      upstream,
      gatewayContext: () => ({ ...subscriber.identity, requestId: randomUUID(), trace: otelContext.active() }),
      delivered: (field, publishedAt) => (last = { field, publishedAt }),
    };
    const results = this.#options.run(session, args);
    const stream = new EventStream<never>(() => {
      void results.return?.();
      this.#release(subscriber);
    });
    const report = (): Delivery | undefined => {
      const delivery = last;
      last = undefined;
      return delivery;
    };
    void this.#pump(results, subscriber, stream, report);
    return stream;
  }

  stats(): DeliveryStats {
    return { upstreamSockets: this.#upstreamSockets };
  }

  async close(): Promise<void> {
    const upstreams = [...this.#upstreams.values()];
    this.#upstreams.clear();
    await Promise.all(upstreams.map(({ upstream }) => upstream.close()));
  }

  /** Writes each completed event to the subscriber's socket; the subscription ends with its results. */
  async #pump(
    results: AsyncIterableIterator<SubscriptionResult>,
    subscriber: Subscriber,
    stream: EventStream<never>,
    report: () => Delivery | undefined,
  ): Promise<void> {
    const { serialize, delivered, logger } = this.#options;
    try {
      for (;;) {
        const step = await results.next();
        if (step.done || stream.closed) break;
        const started = performance.now();
        const sent = subscriber.send(serialize(step.value)) ? 1 : 0;
        delivered(report(), sent, (performance.now() - started) / 1000);
      }
    } catch (error) {
      logger.error({ err: error }, 'subscription failed');
    }
    stream.end();
  }

  #acquire(subscriber: Subscriber): UpstreamConnections {
    const existing = this.#upstreams.get(subscriber.identity);
    if (existing) {
      existing.users++;
      return existing.upstream;
    }
    const upstream = new UpstreamConnections({
      identity: subscriber.identity,
      urls: this.#options.urls,
      logger: this.#options.logger,
      keepAliveMs: this.#options.keepAliveMs,
      onSocket: (delta) => (this.#upstreamSockets += delta),
      onFatalClose: (code, reason) => subscriber.closeSocket({ code, reason } as CloseReason),
    });
    this.#upstreams.set(subscriber.identity, { upstream, users: 1 });
    return upstream;
  }

  #release(subscriber: Subscriber): void {
    const entry = this.#upstreams.get(subscriber.identity);
    if (!entry || --entry.users > 0) return;
    this.#upstreams.delete(subscriber.identity);
    entry.upstream
      .close()
      .catch((error: unknown) => this.#options.logger.warn({ err: error }, 'closing an upstream connection failed'));
  }
}
