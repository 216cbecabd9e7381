import { randomBytes } from 'node:crypto';
import type { ModuleDatabase } from '../../database/database.js';
import { openDatabase } from '../../database/database.js';
import { ServiceMetrics } from '../../metrics/metrics.js';
import { dropTestSchema, testConfig } from '../../testing/index.js';
import type { EventBus, EventHandler, Subscription } from '../bus.js';
import { normalizeEvents } from '../bus.js';
import type { PlatformEvent } from '../event.js';
import { silent } from './harness.js';

/**
 * A private module database (embedded, or PostgreSQL with `DATABASE_URL`) with the kernel's
 * event tables migrated. The schema is private too (`t_…`), so test files can run in parallel.
 */
export async function openEventsDatabase(): Promise<{ db: ModuleDatabase; close(): Promise<void> }> {
  const module = 'events-test';
  const { config, cleanup } = testConfig({
    services: { [module]: { port: 0, dbSchema: `t_${randomBytes(4).toString('hex')}_events` } },
  });
  const db = await openDatabase({
    config,
    module,
    entities: [],
    migrations: [], // openDatabase adds the kernel's outbox migration to every module's list
    logger: silent,
    metrics: new ServiceMetrics(module),
  });
  await db.migrate();
  return {
    db,
    close: async () => {
      try {
        await dropTestSchema(db);
      } finally {
        await db.close();
        await cleanup();
      }
    },
  };
}

/**
 * A bus double for the relay: records what it is asked to publish, can fail on demand or
 * hold publishing until released, can announce a reset, and forwards to a real bus if given.
 */
export class RecordingBus implements EventBus {
  readonly kind: 'memory' | 'redis';
  readonly published: PlatformEvent[] = [];
  failWith: Error | undefined;
  hold: Promise<void> | undefined;
  calls = 0;
  readonly #inner: EventBus | undefined;
  readonly #resetListeners = new Set<() => void>();

  constructor(inner?: EventBus) {
    this.#inner = inner;
    this.kind = inner?.kind ?? 'memory';
  }

  async publish(events: PlatformEvent | PlatformEvent[]): Promise<void> {
    this.calls++;
    if (this.hold) await this.hold;
    if (this.failWith) throw this.failWith;
    await this.#inner?.publish(events);
    this.published.push(...normalizeEvents(events));
  }

  count(id: string): number {
    return this.published.filter((event) => event.id === id).length;
  }

  subscribe(pattern: string, handler: EventHandler, options: { group: string }): Promise<Subscription> {
    if (!this.#inner) throw new Error('RecordingBus has no inner bus');
    return this.#inner.subscribe(pattern, handler, options);
  }

  listen(pattern: string, handler: EventHandler): Promise<Subscription> {
    if (!this.#inner) throw new Error('RecordingBus has no inner bus');
    return this.#inner.listen(pattern, handler);
  }

  onReset(listener: () => void): () => void {
    this.#resetListeners.add(listener);
    return () => this.#resetListeners.delete(listener);
  }

  triggerReset(): void {
    for (const listener of this.#resetListeners) listener();
  }

  async close(): Promise<void> {
    await this.#inner?.close();
  }
}
