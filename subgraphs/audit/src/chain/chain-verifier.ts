import type { EntityManager } from '@platform/kernel';
import { ChainChecker, type ChainReport } from './chain-checker.js';
import { readHead, recordsAfter, type AuditTables } from './chain.store.js';
import type { CheckpointTrust } from './checkpoint-signature.js';
import { checkpointsBetween, latestPruneCheckpoint, type Checkpoint } from './checkpoint.store.js';

export type { ChainProblem, ChainReport } from './chain-checker.js';

export interface VerifyOptions {
  batchSize?: number;
}

/** Reads checkpoints in chain order, a batch at a time, from where the last read stopped. */
class CheckpointCursor {
  #seq = -1;
  #id = 0;

  constructor(
    private readonly em: EntityManager,
    private readonly tables: AuditTables,
  ) {}

  /** Every checkpoint not read yet up to `untilSeq` (all of them when omitted). */
  async *upTo(untilSeq?: number): AsyncGenerator<Checkpoint> {
    for (;;) {
      const batch = await checkpointsBetween(this.em, this.tables, this.#seq, untilSeq, 5000, this.#id);
      for (const c of batch) {
        this.#seq = c.seq;
        this.#id = c.id;
        yield c;
      }
      if (batch.length < 5000) return;
    }
  }
}

/**
 * Verifies the chain in the database (see ChainChecker): from the latest prune checkpoint,
 * every record and every checkpoint in chain order, then the head. Reads in batches without
 * holding locks, so appends carry on meanwhile: records appended during the walk are walked too.
 */
export async function verifyChain(
  em: EntityManager,
  tables: AuditTables,
  trust: CheckpointTrust,
  options: VerifyOptions = {},
): Promise<ChainReport> {
  const batchSize = options.batchSize ?? 2000;
  const start = await latestPruneCheckpoint(em, tables);
  const checker = new ChainChecker(trust, start);
  const checkpoints = new CheckpointCursor(em, tables);
  if (start) {
    // The prune job deletes what a checkpoint covers in the checkpoint's own transaction.
    const [leftover] = await recordsAfter(em, tables, 0, 1, start.seq);
    if (leftover) checker.record(leftover);
    for await (const c of checkpoints.upTo(start.seq)) checker.checkpoint(c);
  }

  for (;;) {
    if (checker.broken) return checker.broken;
    const records = await recordsAfter(em, tables, checker.lastSeq, batchSize);
    if (records.length > 0) {
      const waiting: Checkpoint[] = [];
      for await (const c of checkpoints.upTo(records.at(-1)!.seq)) waiting.push(c);
      let next = 0;
      for (const record of records) {
        while (next < waiting.length && waiting[next]!.seq < record.seq) checker.checkpoint(waiting[next++]!);
        checker.record(record);
        while (next < waiting.length && waiting[next]!.seq === record.seq) checker.checkpoint(waiting[next++]!);
      }
      while (next < waiting.length) checker.checkpoint(waiting[next++]!);
      continue;
    }
    // The end, as far as this walk knows. Checkpoints first, then the head: a checkpoint written
    // meanwhile names a record the head (read after it) already reaches.
    for await (const c of checkpoints.upTo()) checker.checkpoint(c);
    const head = await readHead(em, tables);
    const [appended] = await recordsAfter(em, tables, checker.lastSeq, 1);
    if (appended && !checker.broken) continue;
    let idAfterHead: string | null = null;
    if (head.seq < checker.lastSeq) {
      const [extra] = await recordsAfter(em, tables, head.seq, 1);
      idAfterHead = extra?.id ?? null;
    }
    return checker.end(head, idAfterHead);
  }
}
