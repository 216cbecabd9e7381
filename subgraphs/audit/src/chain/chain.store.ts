import type { EntityManager } from '@platform/kernel';
import type { ChainRecord } from './canonical.js';

/** The audit tables, schema-qualified: statements here are SQL, for locking and streaming. */
export interface AuditTables {
  events: string;
  head: string;
  checkpoints: string;
  keys: string;
  /** `audit_chain_lock()`: locks the head and checks it names the chain's real end. */
  lock: string;
  /** `audit_append(previous_hash, record)`: the one way a record enters the chain. */
  append: string;
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export function auditTables(schema: string): AuditTables {
  const s = quote(schema);
  return {
    events: `${s}."audit_event"`,
    head: `${s}."audit_chain_head"`,
    checkpoints: `${s}."audit_checkpoint"`,
    keys: `${s}."audit_signing_key"`,
    lock: `${s}."audit_chain_lock"`,
    append: `${s}."audit_append"`,
  };
}

/** Timestamps as the hash saw them: ISO-8601 UTC with milliseconds. */
export const iso = (column: string): string =>
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

/** The chain's last position as the head row records it, without locking. */
export async function readHead(em: EntityManager, tables: AuditTables): Promise<ChainHead> {
  const [row] = await em.execute<Array<{ seq: string; hash: string }>>(
    `select seq::text as seq, hash from ${tables.head} where id = 1`,
  );
  if (!row) throw new Error(`${tables.head} has no row: the audit migrations did not run`);
  return { seq: Number(row.seq), hash: row.hash };
}

/**
 * The head no longer names the chain's real end (its hash or its record was changed behind the
 * append function): nothing is appended, signed or pruned until someone looks.
 */
export class ChainHeadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChainHeadError';
  }
}

/**
 * Takes the chain lock until the transaction ends (serialising appends, checkpoints and prunes
 * across connections and instances) and returns the head. `audit_chain_lock()` runs as the
 * tables' owner, so the service's role needs no UPDATE on the head; it refuses, as a
 * ChainHeadError, a head that does not name the last record (or the prune checkpoint it stands on).
 */
export async function lockChain(em: EntityManager, tables: AuditTables): Promise<ChainHead> {
  try {
    const [row] = await em.execute<Array<{ head_seq: string; head_hash: string }>>(
      `select head_seq::text as head_seq, head_hash from ${tables.lock}()`,
    );
    return { seq: Number(row!.head_seq), hash: row!.head_hash };
  } catch (error) {
    throw asChainHeadError(error);
  }
}

/**
 * Appends `record` after `previousHash` through `audit_append()`, inside the caller's transaction
 * (which holds the chain lock): the record is inserted and the head moved in one step.
 */
export async function appendRecord(
  em: EntityManager,
  tables: AuditTables,
  previousHash: string,
  record: ChainRecord,
): Promise<void> {
  const json = {
    ...record,
    occurredAt: record.occurredAt.toISOString(),
    recordedAt: record.recordedAt.toISOString(),
  };
  try {
    await em.execute(`select ${tables.append}(?, ?::jsonb)`, [previousHash, JSON.stringify(json)]);
  } catch (error) {
    throw asChainHeadError(error);
  }
}

function asChainHeadError(error: unknown): unknown {
  const message = error instanceof Error ? error.message : '';
  const match = /audit chain head does not match the chain[^\n]*/.exec(message);
  return match ? new ChainHeadError(match[0]) : error;
}
