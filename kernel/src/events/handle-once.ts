import type { SqlEntityManager } from '@mikro-orm/sql';
import type { ModuleDatabase } from '../database/database.js';
import type { PlatformEvent } from './event.js';

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Idempotent consumption: runs `fn` and records `(event.id, handlerName)` in
 * `processed_event` in one transaction, and skips `fn` when the pair is already recorded.
 * At-least-once delivery thus has an effect once. If `fn` throws, nothing is recorded and a
 * redelivery runs it again. `fn` must do its work through the `em` it is given: on PGlite
 * another EntityManager would wait for this transaction's connection forever.
 *
 * @returns whether `fn` ran.
 */
export async function handleOnce(
  db: ModuleDatabase,
  handlerName: string,
  event: Pick<PlatformEvent, 'id'>,
  fn: (em: SqlEntityManager) => Promise<void>,
): Promise<boolean> {
  const table = `${quoteIdent(db.schema)}.processed_event`;
  return db.fork().transactional(async (em) => {
    // Inserting first also serialises concurrent deliveries: the second waits for the first to commit.
    const inserted = await em.execute<Array<{ event_id: string }>>(
      `insert into ${table} (event_id, handler) values (?, ?) on conflict do nothing returning event_id`,
      [event.id, handlerName],
    );
    if (inserted.length === 0) return false;
    await fn(em);
    return true;
  });
}
