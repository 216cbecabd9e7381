import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type { ModuleDatabase } from '../database/database.js';
import { createEvent } from './event.js';
import { handleOnce } from './handle-once.js';
import { openEventsDatabase } from './__tests__/database.js';

describe('handleOnce', () => {
  let db: ModuleDatabase;
  let close: () => Promise<void>;
  let table: string;

  beforeAll(async () => {
    ({ db, close } = await openEventsDatabase());
    table = `"${db.schema}"`;
    await db.fork().execute(`create table ${table}.effect (event_id uuid not null, handler text not null)`);
  });
  afterAll(() => close());
  beforeEach(async () => {
    await db.fork().execute(`delete from ${table}.effect`);
    await db.fork().execute(`delete from ${table}.processed_event`);
  });

  /** A handler whose effect is a row, written in the handler's transaction. */
  const effect = (handler: string, runs: { n: number }) => async (em: SqlEntityManager, id: string) => {
    runs.n++;
    await em.execute(`insert into ${table}.effect (event_id, handler) values (?, ?)`, [id, handler]);
  };
  const effects = async () =>
    db.fork().execute<Array<{ event_id: string; handler: string }>>(`select event_id, handler from ${table}.effect`);
  const processed = async () =>
    db
      .fork()
      .execute<Array<{ event_id: string; handler: string }>>(`select event_id, handler from ${table}.processed_event`);

  it('runs the handler once for an event delivered again', async () => {
    const event = createEvent('blog', 'blog.post.created', { postId: 'p1' });
    const runs = { n: 0 };
    const fn = effect('notify', runs);
    await expect(handleOnce(db, 'notify', event, (em) => fn(em, event.id))).resolves.toBe(true);
    await expect(handleOnce(db, 'notify', event, (em) => fn(em, event.id))).resolves.toBe(false);
    await expect(handleOnce(db, 'notify', event, (em) => fn(em, event.id))).resolves.toBe(false);
    expect(runs.n).toBe(1);
    expect(await effects()).toEqual([{ event_id: event.id, handler: 'notify' }]);
    expect(await processed()).toEqual([{ event_id: event.id, handler: 'notify' }]);
  });

  it('keeps handlers apart: each handler name handles the event once', async () => {
    const event = createEvent('blog', 'blog.post.created', {});
    const runs = { n: 0 };
    await handleOnce(db, 'notify', event, (em) => effect('notify', runs)(em, event.id));
    await handleOnce(db, 'index', event, (em) => effect('index', runs)(em, event.id));
    await handleOnce(db, 'index', event, (em) => effect('index', runs)(em, event.id));
    expect(runs.n).toBe(2);
    expect((await effects()).map((row) => row.handler).sort()).toEqual(['index', 'notify']);
  });

  it('records nothing when the handler throws, so a redelivery runs it again', async () => {
    const event = createEvent('blog', 'blog.post.created', {});
    const runs = { n: 0 };
    const failing = async (em: SqlEntityManager) => {
      await effect('notify', runs)(em, event.id);
      throw new Error('mail server down');
    };
    await expect(handleOnce(db, 'notify', event, failing)).rejects.toThrow('mail server down');
    expect(runs.n).toBe(1);
    expect(await effects()).toEqual([]); // the handler's own write rolled back too
    expect(await processed()).toEqual([]);

    await expect(handleOnce(db, 'notify', event, (em) => effect('notify', runs)(em, event.id))).resolves.toBe(true);
    await expect(handleOnce(db, 'notify', event, (em) => effect('notify', runs)(em, event.id))).resolves.toBe(false);
    expect(runs.n).toBe(2);
    expect(await effects()).toHaveLength(1);
  });

  it('lets only one of two concurrent deliveries run the handler', async () => {
    const event = createEvent('blog', 'blog.post.created', {});
    const runs = { n: 0 };
    const results = await Promise.all(
      [1, 2].map(() => handleOnce(db, 'notify', event, (em) => effect('notify', runs)(em, event.id))),
    );
    expect(results.sort()).toEqual([false, true]);
    expect(runs.n).toBe(1);
    expect(await effects()).toHaveLength(1);
  });
});
