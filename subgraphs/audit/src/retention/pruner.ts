import type { Logger, ModuleDatabase } from '@platform/kernel';
import { chainHash, GENESIS_HASH } from '../chain/canonical.js';
import {
  auditTables,
  latestCheckpoint,
  readHead,
  recordsAfter,
  type AuditTables,
  type Checkpoint,
} from '../chain/chain.store.js';
import { signCheckpoint } from '../chain/checkpoint-signature.js';
import { ArchiveWriter, archiveLine, archiveName } from './archive.js';

export interface PruneResult {
  /** Records archived and deleted (0 when nothing was old enough). */
  pruned: number;
  /** The checkpoint written, when something was pruned. */
  checkpoint?: Checkpoint;
  /** Full path of the archive written. */
  archivePath?: string;
}

/** The part of the chain to be pruned does not verify: it is kept, as evidence. */
export class ChainBrokenError extends Error {
  constructor(
    readonly recordId: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'ChainBrokenError';
  }
}

export interface PrunerOptions {
  db: ModuleDatabase;
  archiveDir: string;
  /** Signs checkpoints (HMAC-SHA256) when set. */
  checkpointKey: string | null;
  /** Most records one run prunes. */
  batchLimit: number;
  logger: Logger;
}

/**
 * Retention: archives the oldest records to a JSON-lines file, then deletes them and writes a
 * checkpoint (the last pruned position and hash, optionally signed) in one transaction, so the
 * chain still verifies from the checkpoint on. Only a prefix of the chain is pruned: the records
 * from the start up to the first one that is not older than the cutoff. The segment is verified
 * before it is archived; a broken one is refused and kept.
 */
export class AuditPruner {
  readonly #o: PrunerOptions;
  readonly #tables: AuditTables;

  constructor(options: PrunerOptions) {
    this.#o = options;
    this.#tables = auditTables(options.db.schema);
  }

  async prune(before: Date): Promise<PruneResult> {
    const t = this.#tables;
    const em = this.#o.db.fork();
    const previous = await latestCheckpoint(em, t);
    const startAfter = previous?.seq ?? 0;
    const head = await readHead(em, t);
    const [young] = await em.execute<Array<{ seq: string }>>(
      `select e.seq::text as seq from ${t.events} e where e.seq > ? and e.seq <= ? and e.occurred_at >= ?::timestamptz
       order by e.seq limit 1`,
      [startAfter, head.seq, before.toISOString()],
    );
    const lastSeq = Math.min(young ? Number(young.seq) - 1 : head.seq, startAfter + this.#o.batchLimit);
    if (lastSeq <= startAfter) return { pruned: 0 };
    const firstSeq = startAfter + 1;

    const archive = new ArchiveWriter(this.#o.archiveDir, archiveName(firstSeq, lastSeq));
    let hash = previous?.hash ?? GENESIS_HASH;
    let count = 0;
    let archiveSha256: string;
    try {
      await archive.open({ type: 'audit-archive', version: 1, firstSeq, lastSeq, previousHash: hash });
      for (let after = startAfter; after < lastSeq;) {
        const records = await recordsAfter(em, t, after, 1000, lastSeq);
        if (records.length === 0) break;
        for (const record of records) {
          if (record.seq !== after + 1) {
            throw new ChainBrokenError(record.id, `record ${record.seq} follows ${after}: records are missing`);
          }
          if (chainHash(hash, record) !== record.hash) {
            throw new ChainBrokenError(record.id, `record ${record.seq} does not match its hash`);
          }
          await archive.write(archiveLine(record));
          hash = record.hash;
          after = record.seq;
          count++;
        }
      }
      if (count !== lastSeq - startAfter) {
        throw new ChainBrokenError(null, `records ${startAfter + count + 1} to ${lastSeq} are missing`);
      }
      archiveSha256 = await archive.commit();
    } catch (error) {
      await archive.abort();
      throw error;
    }

    const checkpoint = await this.#o.db.fork().transactional(async (tx) => {
      // Behind the head lock: no append or other prune interleaves.
      await readHead(tx, t, true);
      if (((await latestCheckpoint(tx, t))?.seq ?? 0) !== startAfter) return undefined;
      const written: Checkpoint = {
        seq: lastSeq,
        hash,
        firstSeq,
        pruned: count,
        archive: archive.name,
        archiveSha256,
        createdAt: new Date(),
        signature: null,
      };
      if (this.#o.checkpointKey) written.signature = signCheckpoint(written, this.#o.checkpointKey);
      await tx.execute(
        `insert into ${t.checkpoints} (seq, hash, first_seq, pruned, archive, archive_sha256, created_at, signature)
         values (?, ?, ?, ?, ?, ?, ?::timestamptz, ?)`,
        [
          written.seq,
          written.hash,
          written.firstSeq,
          written.pruned,
          written.archive,
          written.archiveSha256,
          written.createdAt.toISOString(),
          written.signature,
        ],
        'run',
      );
      // The one door through the append-only trigger: this transaction, records the checkpoint covers.
      await tx.execute(`select set_config('audit.prune', 'on', true)`);
      const deleted = await tx.execute<{ affectedRows: number }>(
        `delete from ${t.events} where seq > ? and seq <= ?`,
        [startAfter, lastSeq],
        'run',
      );
      if (deleted.affectedRows !== count) {
        throw new Error(`prune deleted ${deleted.affectedRows} records instead of ${count}; rolled back`);
      }
      return written;
    });
    if (!checkpoint) {
      this.#o.logger.info({ archive: archive.path }, 'another prune ran meanwhile; nothing deleted');
      return { pruned: 0 };
    }
    this.#o.logger.info(
      { pruned: count, firstSeq, lastSeq, archive: archive.path, before: before.toISOString() },
      'audit records archived and pruned',
    );
    return { pruned: count, checkpoint, archivePath: archive.path };
  }
}
