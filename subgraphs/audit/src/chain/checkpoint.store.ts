import type { EntityManager } from '@platform/kernel';
import { iso, type AuditTables } from './chain.store.js';

/**
 * `prune`: the records up to `seq` were archived and deleted, and the chain continues from
 * `hash`. `periodic`: a statement that record `seq` had `hash` when it was signed.
 */
export type CheckpointKind = 'prune' | 'periodic';

/** A checkpoint as stored (and exported): the statement and its signature. */
export interface Checkpoint {
  kind: CheckpointKind;
  /** The record the checkpoint speaks of: the last one pruned, or the chain head. */
  seq: number;
  hash: string;
  /** The first record pruned; null for periodic checkpoints. */
  firstSeq: number | null;
  /** Records pruned (0 for periodic checkpoints). */
  pruned: number;
  archive: string | null;
  archiveSha256: string | null;
  createdAt: Date;
  /** The Ed25519 key that signed it (its RFC 7638 thumbprint); null for legacy HMAC or unsigned rows. */
  keyId: string | null;
  /** base64url Ed25519 signature; legacy rows: hex HMAC-SHA256, or null. */
  signature: string | null;
}

interface CheckpointRow {
  kind: CheckpointKind;
  seq: string;
  hash: string;
  first_seq: string | null;
  pruned: string;
  archive: string | null;
  archive_sha256: string | null;
  created_at: string;
  key_id: string | null;
  signature: string | null;
}

const COLUMNS = `c.kind, c.seq::text as seq, c.hash, c.first_seq::text as first_seq, c.pruned::text as pruned,
  c.archive, c.archive_sha256, ${iso('created_at')}, c.key_id, c.signature`;

function toCheckpoint(row: CheckpointRow): Checkpoint {
  return {
    kind: row.kind,
    seq: Number(row.seq),
    hash: row.hash,
    firstSeq: row.first_seq === null ? null : Number(row.first_seq),
    pruned: Number(row.pruned),
    archive: row.archive,
    archiveSha256: row.archive_sha256,
    createdAt: new Date(row.created_at),
    keyId: row.key_id,
    signature: row.signature,
  };
}

/** The prune checkpoint the chain continues from (the highest), if anything was ever pruned. */
export async function latestPruneCheckpoint(em: EntityManager, t: AuditTables): Promise<Checkpoint | undefined> {
  const [row] = await em.execute<CheckpointRow[]>(
    `select ${COLUMNS} from ${t.checkpoints} c where c.kind = 'prune' order by c.seq desc, c.id desc limit 1`,
  );
  return row ? toCheckpoint(row) : undefined;
}

/**
 * Checkpoints of any kind with `afterSeq < seq <= untilSeq` (no upper bound when omitted), in chain
 * order; a cursor continues after the checkpoint (`afterSeq`, `afterId`) it stopped at.
 */
export async function checkpointsBetween(
  em: EntityManager,
  t: AuditTables,
  afterSeq: number,
  untilSeq: number | undefined,
  limit: number,
  afterId = Number.MAX_SAFE_INTEGER,
): Promise<Array<Checkpoint & { id: number }>> {
  const rows = await em.execute<Array<CheckpointRow & { id: string }>>(
    `select c.id::text as id, ${COLUMNS} from ${t.checkpoints} c
     where (c.seq > ? or (c.seq = ? and c.id > ?))${untilSeq === undefined ? '' : ' and c.seq <= ?'}
     order by c.seq, c.id limit ?`,
    untilSeq === undefined ? [afterSeq, afterSeq, afterId, limit] : [afterSeq, afterSeq, afterId, untilSeq, limit],
  );
  return rows.map((row) => ({ ...toCheckpoint(row), id: Number(row.id) }));
}

/** Checkpoints newest first (by position), for finding the latest one a verifier accepts. */
export async function checkpointsNewestFirst(
  em: EntityManager,
  t: AuditTables,
  limit: number,
  offset = 0,
): Promise<Checkpoint[]> {
  const rows = await em.execute<CheckpointRow[]>(
    `select ${COLUMNS} from ${t.checkpoints} c order by c.seq desc, c.id desc limit ? offset ?`,
    [limit, offset],
  );
  return rows.map(toCheckpoint);
}

/** Seconds since the most recent checkpoint of any kind was written (database clock); null when none. */
export async function secondsSinceLastCheckpoint(em: EntityManager, t: AuditTables): Promise<number | null> {
  const [row] = await em.execute<Array<{ age: string | null }>>(
    `select extract(epoch from now() - max(c.created_at))::text as age from ${t.checkpoints} c`,
  );
  return row?.age == null ? null : Number(row.age);
}

export async function insertCheckpoint(em: EntityManager, t: AuditTables, c: Checkpoint): Promise<void> {
  await em.execute(
    `insert into ${t.checkpoints} (kind, seq, hash, first_seq, pruned, archive, archive_sha256, created_at, key_id, signature)
     values (?, ?, ?, ?, ?, ?, ?, ?::timestamptz, ?, ?)`,
    [
      c.kind,
      c.seq,
      c.hash,
      c.firstSeq,
      c.pruned,
      c.archive,
      c.archiveSha256,
      c.createdAt.toISOString(),
      c.keyId,
      c.signature,
    ],
    'run',
  );
}
