import { randomUUID } from 'node:crypto';
import type { SqlEntityManager } from '@mikro-orm/sql';
import type { QueueDefinition } from './queue.js';
import type { EnqueueOptions } from './types.js';

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
/** A timestamp column as epoch milliseconds (PGlite and pg hand dates back differently). */
export const ms = (column: string): string => `(extract(epoch from ${column}) * 1000)::float8`;
export const iso = (value: number | string | null): string | null =>
  value === null ? null : new Date(Number(value)).toISOString();

/** Inserts a job (through `em`: a caller's transaction), or answers the id of the one holding its idempotency key. */
export async function insertJob(
  em: SqlEntityManager,
  table: string,
  queue: QueueDefinition,
  payload: unknown,
  options: EnqueueOptions,
): Promise<string> {
  const id = randomUUID();
  const key = options.idempotencyKey ?? null;
  const inserted = await em.execute<Array<{ id: string }>>(
    `insert into ${table} (id, queue, payload, idempotency_key, max_attempts, run_at)
     values (?, ?, ?::jsonb, ?, ?, clock_timestamp() + ? * interval '1 millisecond')
     on conflict (queue, idempotency_key) where idempotency_key is not null do nothing returning id`,
    [id, queue.name, JSON.stringify(payload ?? null), key, queue.options.attempts, Math.max(0, options.delayMs ?? 0)],
  );
  if (inserted.length > 0) return id;
  const [existing] = await em.execute<Array<{ id: string }>>(
    `select id from ${table} where queue = ? and idempotency_key = ?`,
    [queue.name, key],
  );
  if (!existing) throw new Error(`job with idempotency key "${key}" vanished while enqueuing`);
  return existing.id;
}
