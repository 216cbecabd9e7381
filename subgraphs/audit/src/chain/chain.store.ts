import type { EntityManager } from '../context.js';
import type { ChainRecord } from './canonical.js';

/** The audit tables, schema-qualified: statements here are SQL, for locking and streaming. */
export interface AuditTables {
  events: string;
  head: string;
  checkpoints: string;
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export function auditTables(schema: string): AuditTables {
  const s = quote(schema);
  return { events: `${s}."audit_event"`, head: `${s}."audit_chain_head"`, checkpoints: `${s}."audit_checkpoint"` };
}

/** Timestamps as the hash saw them: ISO-8601 UTC with milliseconds. */
const iso = (column: string): string =>
  `to_char("${column}" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "${column}"`;

/**
 * Every column of a record, in a form `toRecord` maps without loss. `seq` is read as text (a
 * bigint); order by the table's column (`e.seq`), not by this alias, which sorts as text.
 */
export const RECORD_COLUMNS = [
  'id',
  'seq::text as seq',
  'event_id',
  'action',
  'actor_id',
  'target_type',
  'target_id',
  'metadata',
  'request_id',
  'trace_id',
  'ip',
  'user_agent',
  iso('occurred_at'),
  iso('recorded_at'),
  'hash',
].join(', ');

export interface RecordRow {
  id: string;
  seq: string;
  event_id: string | null;
  action: string;
  actor_id: string | null;
  target_type: string | null;
  target_id: string | null;
  metadata: Record<string, unknown> | string | null;
  request_id: string | null;
  trace_id: string | null;
  ip: string | null;
  user_agent: string | null;
  occurred_at: string;
  recorded_at: string;
  hash: string;
}

export function toRecord(row: RecordRow): ChainRecord {
  return {
    id: row.id,
    seq: Number(row.seq),
    eventId: row.event_id,
    action: row.action,
    actorId: row.actor_id,
    targetType: row.target_type,
    targetId: row.target_id,
    metadata: (typeof row.metadata === 'string' ? JSON.parse(row.metadata) : row.metadata) ?? {},
    requestId: row.request_id,
    traceId: row.trace_id,
    ip: row.ip,
    userAgent: row.user_agent,
    occurredAt: new Date(row.occurred_at),
    recordedAt: new Date(row.recorded_at),
    hash: row.hash,
  };
}

/** Records in chain order after `afterSeq`, up to `untilSeq` when given. */
export async function recordsAfter(
  em: EntityManager,
  tables: AuditTables,
  afterSeq: number,
  limit: number,
  untilSeq?: number,
): Promise<ChainRecord[]> {
  const until = untilSeq === undefined ? '' : ' and e.seq <= ?';
  const rows = await em.execute<RecordRow[]>(
    `select ${RECORD_COLUMNS} from ${tables.events} e where e.seq > ?${until} order by e.seq limit ?`,
    untilSeq === undefined ? [afterSeq, limit] : [afterSeq, untilSeq, limit],
  );
  return rows.map(toRecord);
}

export interface ChainHead {
  seq: number;
  hash: string;
}

/** The chain's last position; `forUpdate` locks it until the transaction ends (serialising appends). */
export async function readHead(em: EntityManager, tables: AuditTables, forUpdate = false): Promise<ChainHead> {
  const [row] = await em.execute<Array<{ seq: string; hash: string }>>(
    `select seq::text as seq, hash from ${tables.head} where id = 1${forUpdate ? ' for update' : ''}`,
  );
  if (!row) throw new Error(`${tables.head} has no row: the audit migrations did not run`);
  return { seq: Number(row.seq), hash: row.hash };
}

/** A checkpoint: where the chain continues after the records up to `seq` were pruned. */
export interface Checkpoint {
  seq: number;
  hash: string;
  firstSeq: number;
  pruned: number;
  archive: string | null;
  archiveSha256: string | null;
  createdAt: Date;
  signature: string | null;
}

/** The most recent checkpoint, if any record was ever pruned. */
export async function latestCheckpoint(em: EntityManager, tables: AuditTables): Promise<Checkpoint | undefined> {
  const [row] = await em.execute<
    Array<{
      seq: string;
      hash: string;
      first_seq: string;
      pruned: string;
      archive: string | null;
      archive_sha256: string | null;
      created_at: string;
      signature: string | null;
    }>
  >(
    `select seq::text as seq, hash, first_seq::text as first_seq, pruned::text as pruned, archive, archive_sha256,
       ${iso('created_at')}, signature
     from ${tables.checkpoints} c order by c.seq desc limit 1`,
  );
  if (!row) return undefined;
  return {
    seq: Number(row.seq),
    hash: row.hash,
    firstSeq: Number(row.first_seq),
    pruned: Number(row.pruned),
    archive: row.archive,
    archiveSha256: row.archive_sha256,
    createdAt: new Date(row.created_at),
    signature: row.signature,
  };
}
