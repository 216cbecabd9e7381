import { randomUUID } from 'node:crypto';
import type { ModuleDatabase } from '@platform/kernel';
import { chainHash, type ChainRecord } from '../chain/canonical.js';
import { appendRecord, auditTables, lockChain, type AuditTables } from '../chain/chain.store.js';
import type { AuditDraft } from './event-mapping.js';

export type AppendResult = { recorded: true; record: ChainRecord } | { recorded: false; existingId: string };

/**
 * Appends records to the hash chain, one transaction each: lock the chain head, skip an event
 * already recorded, then insert the record at the next position with its hash and move the head
 * (`audit_append()`). The head's row lock serialises appends across connections and audit
 * instances, so the chain is linear; the unique `event_id` is the last word on duplicates. A head
 * that does not fit the chain refuses every append (ChainHeadError): the event is retried.
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
      const head = await lockChain(em, t);
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
      await appendRecord(em, t, head.hash, record);
      return { recorded: true, record };
    });
  }
}
