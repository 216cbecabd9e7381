import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { ModuleDatabase } from '../database/database.js';
import { createEvent } from './event.js';
import { OutboxRelay, recordEvents } from './outbox.js';
import { openEventsDatabase, RecordingBus } from './__tests__/database.js';
import { silent, waitFor } from './__tests__/harness.js';
import { EventMetrics } from './metrics.js';
import { ServiceMetrics } from '../metrics/metrics.js';

let db: ModuleDatabase;
let closeDb: () => Promise<void>;

beforeAll(async () => {
  ({ db, close: closeDb } = await openEventsDatabase());
});
afterAll(() => closeDb());
beforeEach(() => db.fork().execute(`delete from "${db.schema}".outbox`));

const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('EventMetrics', () => {
  it('starts every topic of the manifest and the kernel at 0, then counts what the relay publishes', async () => {
    const metrics = new ServiceMetrics('blog');
    const events = new EventMetrics(metrics, db, ['blog.post.created', 'blog.post.deleted']);
    const bus = new RecordingBus();
    let text = await metrics.exposition();
    expect(sample(text, 'events_published_total{topic="blog.post.created",service="blog"}')).toBe(0);
    expect(sample(text, 'events_published_total{topic="blog.post.deleted",service="blog"}')).toBe(0);
    expect(sample(text, 'events_published_total{topic="kernel.credential.refused",service="blog"}')).toBe(0);

    const relay = new OutboxRelay({ db, bus: events.counting(bus), logger: silent, pollIntervalMs: 50 });
    relay.start();
    try {
      await db.fork().transactional(async (em) => {
        await recordEvents(em, db.schema, [
          createEvent('blog', 'blog.post.created', { n: 1 }),
          createEvent('blog', 'blog.post.created', { n: 2 }),
        ]);
      });
      await waitFor(() => bus.published.length === 2);
    } finally {
      await relay.stop();
    }
    text = await metrics.exposition();
    expect(sample(text, 'events_published_total{topic="blog.post.created",service="blog"}')).toBe(2);
    expect(sample(text, 'events_published_total{topic="blog.post.deleted",service="blog"}')).toBe(0);
  });

  it('does not count what the bus refused', async () => {
    const metrics = new ServiceMetrics('blog');
    const events = new EventMetrics(metrics, db, ['blog.post.created']);
    const bus = new RecordingBus();
    bus.failWith = new Error('bus down');
    await expect(events.counting(bus).publish(createEvent('blog', 'blog.post.created', {}))).rejects.toThrow(
      'bus down',
    );
    expect(sample(await metrics.exposition(), 'events_published_total{topic="blog.post.created",service="blog"}')).toBe(
      0,
    );
  });

  it('reports the unpublished events of the outbox and the age of the oldest', async () => {
    const metrics = new ServiceMetrics('blog');
    new EventMetrics(metrics, db, []);
    let text = await metrics.exposition();
    expect(sample(text, 'outbox_pending_events{service="blog"}')).toBe(0);
    expect(sample(text, 'outbox_oldest_pending_seconds{service="blog"}')).toBe(0);

    const old = createEvent('blog', 'blog.post.created', {});
    // No relay runs: the rows stay pending. The oldest occurred 2 minutes ago.
    await db.fork().transactional(async (em) => {
      await recordEvents(em, db.schema, [{ ...old, occurredAt: new Date(Date.now() - 120_000).toISOString() }]);
      await recordEvents(em, db.schema, [createEvent('blog', 'blog.post.created', {})]);
    });
    const later = new ServiceMetrics('blog'); // a fresh registry: the first took its report within the second
    new EventMetrics(later, db, []);
    text = await later.exposition();
    expect(sample(text, 'outbox_pending_events{service="blog"}')).toBe(2);
    expect(sample(text, 'outbox_oldest_pending_seconds{service="blog"}')).toBeGreaterThanOrEqual(119);
    expect(sample(text, 'outbox_oldest_pending_seconds{service="blog"}')).toBeLessThan(600);
  });
});
