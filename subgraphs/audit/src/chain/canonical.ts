import { createHash } from 'node:crypto';

/** The "previous hash" of the first record of a chain that was never pruned. */
export const GENESIS_HASH = '0'.repeat(64);

/** Version of the canonical form, hashed with every record so the format can evolve. */
export const CANONICAL_VERSION = 1;

/** A stored audit record: what the hash covers, plus the hash itself. */
export interface ChainRecord {
  id: string;
  /** Position in the chain: 1, 2, 3… with no gaps (a checkpoint stands in for pruned ones). */
  seq: number;
  /** The source event's id; unique, so a redelivered event is never recorded twice. */
  eventId: string | null;
  action: string;
  actorId: string | null;
  targetType: string | null;
  targetId: string | null;
  metadata: Record<string, unknown>;
  requestId: string | null;
  traceId: string | null;
  ip: string | null;
  userAgent: string | null;
  occurredAt: Date;
  recordedAt: Date;
  /** sha256 hex of the previous record's hash followed by this record's canonical form. */
  hash: string;
}

/**
 * Canonical JSON, in the spirit of RFC 8785 (JCS): no whitespace, object keys sorted by UTF-16
 * code units at every depth, members whose value is `undefined` left out, strings and numbers
 * as `JSON.stringify` writes them (finite numbers only). Equal values give equal text, however
 * their keys were ordered (jsonb reorders them).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`canonical JSON cannot hold the number ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
      const object = value as Record<string, unknown>;
      const keys = Object.keys(object)
        .filter((key) => object[key] !== undefined)
        .sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`).join(',')}}`;
    }
    default:
      throw new Error(`canonical JSON cannot hold a ${typeof value}`);
  }
}

/**
 * The text a record's hash covers: every stored field but the hash, as canonical JSON, with
 * timestamps as ISO-8601 UTC strings with milliseconds (`2026-01-01T00:00:00.000Z`), absent
 * values as `null`, and the format version as `v`.
 */
export function canonicalRecord(record: Omit<ChainRecord, 'hash'>): string {
  return canonicalJson({
    v: CANONICAL_VERSION,
    seq: record.seq,
    id: record.id,
    eventId: record.eventId,
    action: record.action,
    actorId: record.actorId,
    targetType: record.targetType,
    targetId: record.targetId,
    metadata: record.metadata,
    requestId: record.requestId,
    traceId: record.traceId,
    ip: record.ip,
    userAgent: record.userAgent,
    occurredAt: record.occurredAt.toISOString(),
    recordedAt: record.recordedAt.toISOString(),
  });
}

/** `hash = sha256(previousHash + canonicalRecord(record))`, lower-case hex. */
export function chainHash(previousHash: string, record: Omit<ChainRecord, 'hash'>): string {
  return createHash('sha256')
    .update(previousHash + canonicalRecord(record), 'utf8')
    .digest('hex');
}
