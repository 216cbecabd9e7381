import type { EntityManager, Logger, ModuleDatabase } from '@platform/kernel';
import { chainHash, GENESIS_HASH } from './canonical.js';
import { auditTables, ChainHeadError, lockChain, readHead, recordsAfter, type AuditTables } from './chain.store.js';
import type { CheckpointKeys } from './checkpoint-keys.js';
import { signCheckpoint, type CheckpointTrust } from './checkpoint-signature.js';
import { checkpointsBetween, checkpointsNewestFirst, insertCheckpoint, type Checkpoint } from './checkpoint.store.js';

export type PublishResult =
  | { written: true; checkpoint: Checkpoint }
  | {
      written: false;
      /** `unchanged`: nothing appended since the latest checkpoint; `recent`: one was signed within the period
       * (by any instance); `refused`: the chain since the latest checkpoint does not verify, or the head does not fit. */
      why: 'unchanged' | 'recent' | 'refused';
      reason?: string;
    };

/** Most checkpoints looked through, newest first, for one that verifies (forged rows are skipped). */
const SEARCH_LIMIT = 1000;

/**
 * Periodic checkpoints (the `checkpoint` schedule of module.yaml runs {@link publish} once per
 * deployment per tick): every `intervalSeconds`, a signed statement of the chain head (the last
 * record's seq and hash, the time, the signing key), when something was appended since the
 * latest checkpoint. Before signing, the records since the latest valid checkpoint are verified:
 * a checkpoint vouches that the chain up to it verified when it was signed, so records rewritten
 * later (even with every later hash) contradict it. Any number of instances may run this: the
 * chain lock and the latest checkpoint's age let one of them sign per period.
 */
export class CheckpointPublisher {
  readonly #db: ModuleDatabase;
  readonly #keys: CheckpointKeys;
  readonly #tables: AuditTables;
  readonly #intervalMs: number;
  readonly #logger: Logger;

  constructor(deps: { db: ModuleDatabase; keys: CheckpointKeys; intervalSeconds: number; logger: Logger }) {
    this.#db = deps.db;
    this.#keys = deps.keys;
    this.#tables = auditTables(deps.db.schema);
    this.#intervalMs = deps.intervalSeconds * 1000;
    this.#logger = deps.logger.child({ component: 'audit-checkpoints' });
  }

  /**
   * Signs a periodic checkpoint if records were appended since the latest one. Unless `force`,
   * nothing is signed within 90% of a period after the latest valid checkpoint (another instance's).
   */
  async publish(options: { force?: boolean } = {}): Promise<PublishResult> {
    const key = await this.#keys.own();
    const em = this.#db.fork();
    const trust = await this.#keys.trust(em);
    const head = await readHead(em, this.#tables);
    if (head.seq === 0) return { written: false, why: 'unchanged' };
    const base = await latestValid(em, this.#tables, trust);
    if (base && base.seq >= head.seq) return { written: false, why: 'unchanged' };
    if (!options.force && base && Date.now() - base.createdAt.getTime() < this.#intervalMs * 0.9) {
      return { written: false, why: 'recent' };
    }
    const segment = await this.#verifySegment(em, base, head.seq);
    if (typeof segment === 'string') return this.#refuse(segment);

    return this.#db.fork().transactional(async (tx) => {
      try {
        await lockChain(tx, this.#tables);
      } catch (error) {
        if (error instanceof ChainHeadError) return this.#refuse(error.message);
        throw error;
      }
      // Another instance may have signed meanwhile (behind the same lock).
      const later = await checkpointsBetween(tx, this.#tables, head.seq - 1, undefined, 50);
      if (later.some((c) => trust.check(c).ok)) return { written: false, why: 'recent' } as const;
      const checkpoint = signCheckpoint(
        {
          kind: 'periodic',
          seq: head.seq,
          hash: segment.hash,
          firstSeq: null,
          pruned: 0,
          archive: null,
          archiveSha256: null,
          createdAt: new Date(),
        },
        key,
      );
      await insertCheckpoint(tx, this.#tables, checkpoint);
      this.#logger.debug({ seq: checkpoint.seq, kid: key.kid }, 'audit checkpoint signed');
      return { written: true, checkpoint };
    });
  }

  #refuse(reason: string): PublishResult {
    this.#logger.error({ reason }, 'audit chain does not verify since the latest checkpoint: no checkpoint signed');
    return { written: false, why: 'refused', reason };
  }

  /** Recomputes the records after `base` up to `untilSeq`; the hash of the last one, or what is wrong. */
  async #verifySegment(
    em: EntityManager,
    base: Checkpoint | undefined,
    untilSeq: number,
  ): Promise<{ hash: string } | string> {
    let previous = base?.hash ?? GENESIS_HASH;
    let after = base?.seq ?? 0;
    if (base?.kind === 'periodic') {
      const [record] = await recordsAfter(em, this.#tables, base.seq - 1, 1, base.seq);
      if (record?.hash !== base.hash) return `record ${base.seq} no longer has the hash its checkpoint names`;
    }
    while (after < untilSeq) {
      const records = await recordsAfter(em, this.#tables, after, 2000, untilSeq);
      if (records.length === 0) return `records ${after + 1} to ${untilSeq} are missing`;
      for (const record of records) {
        if (record.seq !== after + 1) return `records ${after + 1} to ${record.seq - 1} are missing`;
        if (chainHash(previous, record) !== record.hash) return `record ${record.seq} does not match its hash`;
        previous = record.hash;
        after = record.seq;
      }
    }
    return { hash: previous };
  }
}

/** The newest checkpoint (by position) whose signature the verifier accepts. */
async function latestValid(
  em: EntityManager,
  tables: AuditTables,
  trust: CheckpointTrust,
): Promise<Checkpoint | undefined> {
  for (let offset = 0; offset < SEARCH_LIMIT; offset += 50) {
    const batch = await checkpointsNewestFirst(em, tables, 50, offset);
    const valid = batch.find((c) => trust.check(c).ok);
    if (valid) return valid;
    if (batch.length < 50) return undefined;
  }
  return undefined;
}
