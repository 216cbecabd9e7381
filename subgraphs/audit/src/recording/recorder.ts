import { randomUUID } from 'node:crypto';
import type { ModuleDatabase } from '@platform/kernel';
import { chainHash, type ChainRecord } from '../chain/canonical.js';
import { auditTables, readHead, type AuditTables } from '../chain/chain.store.js';
import type { AuditDraft } from './event-mapping.js';

export type AppendResult = { recorded: true; record: ChainRecord } | { recorded: false; existingId: string };

/**
 * Appends records to the hash chain, one transaction each: lock the chain head, skip an event
 * already recorded, insert the record at the next position with its hash, move the head. The
 * head's row lock serialises appends across connections and audit instances, so the chain is
 * linear; the unique `event_id` is the last word on duplicates.
 */
export class AuditRecorder {
  readonly #db: ModuleDatabase;
  readonly #tables: AuditTables;

  constructor(db: ModuleDatabase) {
    this.#db = db;
    this.#tables = auditTables(db.schema);
  }

  async append(draft: AuditDraft): Promise<AppendResult> {
    const t = this.#tables;
    return this.#db.fork().transactional(async (em) => {
      const head = await readHead(em, t, true);
      if (draft.eventId) {
        // Read after taking the lock: a concurrent delivery of the same event has committed by now.
        const [existing] = await em.execute<Array<{ id: string }>>(`select id from ${t.events} where event_id = ?`, [
          draft.eventId,
        ]);
        if (existing) return { recorded: false, existingId: existing.id };
      }
      // A JS Date has milliseconds, as every timestamp the hash covers: it reads back identical.
      const recordedAt = new Date();
      const unhashed = { ...draft, id: randomUUID(), seq: head.seq + 1, recordedAt };
      const record: ChainRecord = { ...unhashed, hash: chainHash(head.hash, unhashed) };
      await em.execute(
        `insert into ${t.events} (id, seq, event_id, action, actor_id, target_type, target_id, metadata,
           request_id, trace_id, ip, user_agent, occurred_at, recorded_at, hash)
         values (?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?::timestamptz, ?::timestamptz, ?)`,
        [
          record.id,
          record.seq,
          record.eventId,
          record.action,
          record.actorId,
          record.targetType,
          record.targetId,
          JSON.stringify(record.metadata),
          record.requestId,
          record.traceId,
          record.ip,
          record.userAgent,
          record.occurredAt.toISOString(),
          record.recordedAt.toISOString(),
          record.hash,
        ],
        'run',
      );
      await em.execute(
        `update ${t.head} set seq = ?, hash = ?, updated_at = now() where id = 1`,
        [record.seq, record.hash],
        'run',
      );
      return { recorded: true, record };
    });
  }
}
