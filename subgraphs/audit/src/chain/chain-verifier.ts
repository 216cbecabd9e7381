import type { EntityManager } from '../context.js';
import { chainHash, GENESIS_HASH } from './canonical.js';
import { latestCheckpoint, readHead, recordsAfter, type AuditTables } from './chain.store.js';
import { checkpointSignatureValid } from './checkpoint-signature.js';

/** What a verification found; `firstBrokenId` names the first record that does not fit, if one does. */
export interface ChainReport {
  valid: boolean;
  /** Records whose hash was recomputed. */
  checked: number;
  firstBrokenId: string | null;
  /** Chain position of the first broken record. */
  firstBrokenSeq: number | null;
  /** Why the chain is broken, in words; null when it is valid. */
  reason: string | null;
  /** The checkpoint verification started from (records up to it were pruned), if any. */
  checkpointSeq: number | null;
}

export interface VerifyOptions {
  /** The HMAC key checkpoints are signed with; when set, the checkpoint must carry a valid signature. */
  checkpointKey?: string | null;
  batchSize?: number;
}

/**
 * Walks the chain in order, from its start or from the latest checkpoint, recomputing every
 * hash: a changed record fails its own hash, a deleted one leaves a gap in the positions, and
 * records deleted from the end are missed by the chain head (which moves with every append and
 * can only move forward). Reads in batches, without holding locks, so appends carry on meanwhile.
 */
export async function verifyChain(
  em: EntityManager,
  tables: AuditTables,
  options: VerifyOptions = {},
): Promise<ChainReport> {
  const batchSize = options.batchSize ?? 2000;
  const checkpoint = await latestCheckpoint(em, tables);
  let checked = 0;
  const broken = (id: string | null, seq: number | null, reason: string): ChainReport => ({
    valid: false,
    checked,
    firstBrokenId: id,
    firstBrokenSeq: seq,
    reason,
    checkpointSeq: checkpoint?.seq ?? null,
  });

  let previous = GENESIS_HASH;
  let lastSeq = 0;
  let lastId: string | null = null;
  if (checkpoint) {
    if (options.checkpointKey && !checkpointSignatureValid(checkpoint, options.checkpointKey)) {
      const [next] = await recordsAfter(em, tables, checkpoint.seq, 1);
      return broken(next?.id ?? null, next?.seq ?? null, `checkpoint ${checkpoint.seq} has no valid signature`);
    }
    // The prune job deletes what a checkpoint covers in the checkpoint's own transaction.
    const [leftover] = await em.execute<Array<{ id: string; seq: string }>>(
      `select e.id, e.seq::text as seq from ${tables.events} e where e.seq <= ? order by e.seq limit 1`,
      [checkpoint.seq],
    );
    if (leftover) {
      return broken(
        leftover.id,
        Number(leftover.seq),
        `record ${leftover.seq} is covered by checkpoint ${checkpoint.seq} but still exists: the checkpoint was not written by the prune job`,
      );
    }
    previous = checkpoint.hash;
    lastSeq = checkpoint.seq;
  }

  for (;;) {
    let records = await recordsAfter(em, tables, lastSeq, batchSize);
    if (records.length === 0) {
      const head = await readHead(em, tables);
      if (head.seq > lastSeq) {
        // Appended since the last read (a record commits with its head), or missing at the end.
        records = await recordsAfter(em, tables, lastSeq, batchSize);
        if (records.length === 0) {
          return broken(null, lastSeq + 1, `records ${lastSeq + 1} to ${head.seq} are missing from the end`);
        }
      } else if (head.seq < lastSeq) {
        const [extra] = await recordsAfter(em, tables, head.seq, 1);
        return broken(
          extra?.id ?? null,
          head.seq + 1,
          `record ${head.seq + 1} was not appended through the chain head`,
        );
      } else if (head.hash !== previous) {
        // The last record and its hash were both rewritten: only the head still knows.
        return broken(lastId, lastSeq, `record ${lastSeq} differs from what the chain head recorded`);
      } else {
        return {
          valid: true,
          checked,
          firstBrokenId: null,
          firstBrokenSeq: null,
          reason: null,
          checkpointSeq: checkpoint?.seq ?? null,
        };
      }
    }
    for (const record of records) {
      if (record.seq !== lastSeq + 1) {
        return broken(
          record.id,
          record.seq,
          `record ${record.seq} follows ${lastSeq}: the records between are missing`,
        );
      }
      if (chainHash(previous, record) !== record.hash) {
        return broken(record.id, record.seq, `record ${record.seq} does not match its hash: it was changed`);
      }
      previous = record.hash;
      lastSeq = record.seq;
      lastId = record.id;
      checked++;
    }
  }
}
