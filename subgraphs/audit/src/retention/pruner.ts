import { ConfigError, type Logger, type ModuleDatabase } from '@platform/kernel';
import { chainHash, GENESIS_HASH } from '../chain/canonical.js';
import { auditTables, lockChain, readHead, recordsAfter, type AuditTables } from '../chain/chain.store.js';
import type { CheckpointKeys } from '../chain/checkpoint-keys.js';
import { signCheckpoint } from '../chain/checkpoint-signature.js';
import {
  checkpointsBetween,
  insertCheckpoint,
  latestPruneCheckpoint,
  type Checkpoint,
} from '../chain/checkpoint.store.js';
import { ArchiveWriter, archiveLine, archiveName } from './archive.js';
import { withPruneLock } from './prune-lock.js';

export interface PruneResult {
  /** Records archived and deleted (0 when nothing was old enough, or another prune was running). */
  pruned: number;
  /** Another prune (another instance's, or platformctl's) held the lock: nothing was done. */
  busy?: true;
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
  /**
   * `archiveDir` is only the default under the instance's own `DATA_DIR`, in production: nothing
   * is pruned (a ConfigError naming `modules.audit.archiveDir`). A deployment's `DATA_DIR` belongs
   * to one instance and may not outlive it (Kubernetes gives it an emptyDir), so archives there
   * would be lost with the pod, after their records were deleted, and spread over the instances.
   */
  refuseDefaultArchiveDir?: boolean;
  /** Signs the checkpoints (Ed25519, this instance's key) and judges those already written. */
  keys: CheckpointKeys;
  /** Most records one run prunes. */
  batchLimit: number;
  logger: Logger;
}

/**
 * Retention: archives the oldest records to a JSON-lines file, then deletes them and writes a
 * signed prune checkpoint (the last pruned position and hash) in one transaction, so the chain
 * still verifies from the checkpoint on. Only a prefix of the chain is pruned: the records from
 * the start up to the first one that is not older than the cutoff. The segment is verified
 * before it is archived (each hash, and each validly signed periodic checkpoint in it); a
 * broken one is refused and kept.
 */
export class AuditPruner {
  readonly #o: PrunerOptions;
  readonly #tables: AuditTables;

  constructor(options: PrunerOptions) {
    this.#o = options;
    this.#tables = auditTables(options.db.schema);
  }

  /**
   * Prunes records that happened before `before` (one batch). One prune runs at a time per
   * schema across every process (see {@link withPruneLock}): with `wait: false` (the retention
   * job) a prune already running elsewhere makes this one return `{ pruned: 0, busy: true }`;
   * by default it waits for it, then prunes what is still due.
   */
  async prune(before: Date, options: { wait?: boolean } = {}): Promise<PruneResult> {
    const result = await withPruneLock(this.#o.db, () => this.#prune(before), { wait: options.wait ?? true });
    if (!result.busy) return result.value;
    this.#o.logger.debug('another audit prune is running; this one skipped');
    return { pruned: 0, busy: true };
  }

  async #prune(before: Date): Promise<PruneResult> {
    if (this.#o.refuseDefaultArchiveDir) {
      throw new ConfigError([
        {
          path: 'modules.audit.archiveDir',
          message:
            'not set: in production pruned records are archived only to storage that outlives every audit ' +
            'instance and is the same for all of them and platformctl (a mounted volume), never under one ' +
            "instance's DATA_DIR; nothing was pruned",
        },
      ]);
    }
    const t = this.#tables;
    const em = this.#o.db.fork();
    const trust = await this.#o.keys.trust(em);
    const previous = await latestPruneCheckpoint(em, t);
    const previousCheck = previous ? trust.check(previous) : undefined;
    if (previousCheck && !previousCheck.ok) {
      throw new ChainBrokenError(
        null,
        `the prune checkpoint at record ${previous!.seq} is not validly signed (${previousCheck.why}): nothing is pruned after it`,
      );
    }
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
    const key = await this.#o.keys.own();
    // What signed periodic checkpoints say of the segment: once pruned, nothing could contradict it.
    const vouched = new Map<number, Checkpoint>();
    for (const c of await checkpointsBetween(em, t, startAfter, lastSeq, 1_000_000)) {
      if (c.kind === 'periodic' && trust.check(c).ok) vouched.set(c.seq, c);
    }

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
          const checkpoint = vouched.get(record.seq);
          if (checkpoint && checkpoint.hash !== record.hash) {
            throw new ChainBrokenError(
              record.id,
              `record ${record.seq} has another hash than its signed checkpoint names: records were rewritten`,
            );
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
      // Behind the chain lock: no append or other prune interleaves (and the head must fit the chain).
      await lockChain(tx, t);
      if (((await latestPruneCheckpoint(tx, t))?.seq ?? 0) !== startAfter) return undefined;
      const written = signCheckpoint(
        {
          kind: 'prune',
          seq: lastSeq,
          hash,
          firstSeq,
          pruned: count,
          archive: archive.name,
          archiveSha256,
          createdAt: new Date(),
        },
        key,
      );
      await insertCheckpoint(tx, t, written);
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
