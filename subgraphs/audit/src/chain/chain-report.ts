import type { Checkpoint } from './checkpoint.store.js';

/** What kind of break a verification found. */
export type ChainProblem =
  /** A record does not match its hash. */
  | 'RECORD_CHANGED'
  /** Records are missing before a stored one: a gap, or the oldest ones gone without a signed checkpoint. */
  | 'RECORDS_MISSING'
  /** Records are missing at the end: the head or a signed checkpoint names records the chain does not reach. */
  | 'TAIL_MISSING'
  /** A record a prune checkpoint covers still exists: that checkpoint was not written by the prune job. */
  | 'RECORD_NOT_PRUNED'
  /** A checkpoint is unsigned, signed by an unknown or untrusted key, or its signature does not verify. */
  | 'CHECKPOINT_INVALID'
  /** A validly signed checkpoint names another hash than the record it speaks of has: records were rewritten. */
  | 'CHECKPOINT_MISMATCH'
  /** The chain head names another hash than its record has. */
  | 'HEAD_CHANGED'
  /** Records exist past the chain head: they were not appended through it. */
  | 'HEAD_BEHIND';

/** What a verification found; `firstBrokenId`/`firstBrokenSeq` name the first record that does not fit, if one does. */
export interface ChainReport {
  valid: boolean;
  /** Records whose hash was recomputed. */
  checked: number;
  /** Checkpoints whose signature was checked. */
  checkpointsChecked: number;
  /** The first broken record's id; null when it no longer exists or the break is not a record's (head, checkpoint). */
  firstBrokenId: string | null;
  /** The first broken record's position (for missing records: the first one missing). */
  firstBrokenSeq: number | null;
  problem: ChainProblem | null;
  /** Why the chain is broken, in words; null when it is valid. */
  reason: string | null;
  /** The prune checkpoint verification started from (records up to it were pruned), if any. */
  checkpointSeq: number | null;
  /** Whose signatures were accepted (key ids; `hmac` for legacy ones): more than the keys you know of is a question to ask. */
  signers: string[];
  /** The newest checkpoint that verified (signature, and hash where its record exists): how far the chain is anchored. */
  latestCheckpoint: { kind: Checkpoint['kind']; seq: number; createdAt: Date; signer: string } | null;
}
