import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { canonicalJson, type ChainRecord } from './canonical.js';
import { ChainChecker, type ChainReport } from './chain-checker.js';
import { EXPORT_VERSION } from './chain-export.js';
import type { ChainHead } from './chain.store.js';
import { CheckpointTrust } from './checkpoint-signature.js';
import type { Checkpoint } from './checkpoint.store.js';
import { knownKey, type KnownKey } from './key-ring.js';

/** A line of an export that is not what the format says: the file is damaged or not an export. */
export class ExportFormatError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'ExportFormatError';
  }
}

export interface VerifyExportOptions {
  /** Key ids to accept; unset: every key the file lists (pin them: the file could list any key). */
  trusted?: readonly string[] | null;
  /** Legacy HMAC key, for prune checkpoints signed that way. */
  hmacKey?: string | null;
  trustUnsignedThrough?: number | null;
}

export interface ExportReport extends ChainReport {
  head: ChainHead;
  exportedAt: string;
  /** The keys whose signatures were accepted. */
  trustedKeys: string[];
}

type Line =
  | { type: 'audit-export'; version: number; exportedAt: string; head: ChainHead }
  | { type: 'key'; kid: string; jwk: unknown; createdAt: string | null }
  | ({ type: 'checkpoint' } & Record<string, unknown>)
  | ({ type: 'record' } & Record<string, unknown>)
  | { type: 'end'; records: number; checkpoints: number; keys: number };

async function* lines(file: string): AsyncGenerator<{ n: number; line: Line }> {
  const input = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of input) {
    n++;
    if (text === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ExportFormatError(n, 'not JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { type?: unknown }).type !== 'string') {
      throw new ExportFormatError(n, 'not an object with a type');
    }
    yield { n, line: parsed as Line };
  }
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isDate = (v: unknown): v is string => isStr(v) && !Number.isNaN(Date.parse(v));

function toCheckpoint(n: number, l: Record<string, unknown>): Checkpoint {
  if (
    (l.kind !== 'prune' && l.kind !== 'periodic') ||
    !isInt(l.seq) ||
    !isStr(l.hash) ||
    !(l.firstSeq === null || isInt(l.firstSeq)) ||
    !isInt(l.pruned) ||
    !isStrOrNull(l.archive) ||
    !isStrOrNull(l.archiveSha256) ||
    !isDate(l.createdAt) ||
    !isStrOrNull(l.keyId) ||
    !isStrOrNull(l.signature)
  ) {
    throw new ExportFormatError(n, 'a checkpoint line lacks a field or has one of the wrong type');
  }
  return {
    kind: l.kind,
    seq: l.seq,
    hash: l.hash,
    firstSeq: l.firstSeq,
    pruned: l.pruned,
    archive: l.archive,
    archiveSha256: l.archiveSha256,
    createdAt: new Date(l.createdAt),
    keyId: l.keyId,
    signature: l.signature,
  };
}

function toRecord(n: number, l: Record<string, unknown>): ChainRecord {
  const strings = ['action', 'hash', 'id'] as const;
  const nullable = ['eventId', 'actorId', 'targetType', 'targetId', 'requestId', 'traceId', 'ip', 'userAgent'] as const;
  if (
    !isInt(l.seq) ||
    strings.some((k) => !isStr(l[k])) ||
    nullable.some((k) => l[k] !== undefined && !isStrOrNull(l[k])) ||
    typeof l.metadata !== 'object' ||
    Array.isArray(l.metadata) ||
    !isDate(l.occurredAt) ||
    !isDate(l.recordedAt)
  ) {
    throw new ExportFormatError(n, 'a record line lacks a field or has one of the wrong type');
  }
  const { type: _type, ...record } = l;
  return {
    ...(record as unknown as ChainRecord),
    metadata: (l.metadata ?? {}) as Record<string, unknown>,
    occurredAt: new Date(l.occurredAt),
    recordedAt: new Date(l.recordedAt),
  };
}

/**
 * Verifies an export without a database, as `verifyAuditChain` verifies the database: the same
 * checks (ChainChecker) over the file's records, checkpoints and head, with the file's keys (or
 * only the `trusted` ones). Two passes: the first finds the keys and the latest prune checkpoint,
 * the second walks the chain. A malformed file is an ExportFormatError naming the line.
 */
export async function verifyExport(file: string, options: VerifyExportOptions = {}): Promise<ExportReport> {
  let header: Extract<Line, { type: 'audit-export' }> | undefined;
  let end: Extract<Line, { type: 'end' }> | undefined;
  let start: Checkpoint | undefined;
  const keys: KnownKey[] = [];
  const counts = { records: 0, checkpoints: 0, keys: 0 };
  for await (const { n, line } of lines(file)) {
    if (n === 1 && line.type !== 'audit-export')
      throw new ExportFormatError(n, 'the first line is not an audit-export header');
    if (end) throw new ExportFormatError(n, 'a line after the end line');
    switch (line.type) {
      case 'audit-export':
        if (n !== 1) throw new ExportFormatError(n, 'a second header');
        if (line.version !== EXPORT_VERSION)
          throw new ExportFormatError(n, `version ${line.version} is not ${EXPORT_VERSION}`);
        if (!isInt(line.head?.seq) || !isStr(line.head?.hash)) throw new ExportFormatError(n, 'the header has no head');
        header = line;
        break;
      case 'key':
        try {
          keys.push(knownKey(line.kid, line.jwk, isDate(line.createdAt) ? new Date(line.createdAt) : null));
        } catch (error) {
          throw new ExportFormatError(n, (error as Error).message);
        }
        counts.keys++;
        break;
      case 'checkpoint': {
        const c = toCheckpoint(n, line);
        if (c.kind === 'prune' && (!start || c.seq >= start.seq)) start = c;
        counts.checkpoints++;
        break;
      }
      case 'record':
        counts.records++;
        break;
      case 'end':
        end = line;
        break;
      default:
        throw new ExportFormatError(n, `unknown line type ${JSON.stringify((line as { type: unknown }).type)}`);
    }
  }
  if (!header) throw new ExportFormatError(1, 'the file is empty');
  if (!end) throw new ExportFormatError(0, 'no end line: the file was cut short');
  if (end.records !== counts.records || end.checkpoints !== counts.checkpoints || end.keys !== counts.keys) {
    throw new ExportFormatError(
      0,
      `the end line counts ${canonicalJson(end)}, the file holds ${canonicalJson(counts)}`,
    );
  }

  const trust = new CheckpointTrust({
    keys,
    trusted: options.trusted ?? null,
    hmacKey: options.hmacKey ?? null,
    trustUnsignedThrough: options.trustUnsignedThrough ?? null,
  });
  const checker = new ChainChecker(trust, start);
  checker.expectHead(header.head.seq);
  let lastSeq = -1;
  for await (const { n, line } of lines(file)) {
    if (line.type === 'checkpoint') {
      checker.checkpoint(toCheckpoint(n, line));
    } else if (line.type === 'record') {
      const record = toRecord(n, line);
      if (record.seq <= lastSeq) throw new ExportFormatError(n, `record ${record.seq} is out of order`);
      lastSeq = record.seq;
      checker.record(record);
    }
    if (checker.broken) break;
  }
  const report = checker.broken ?? checker.end(header.head);
  return {
    ...report,
    head: header.head,
    exportedAt: header.exportedAt,
    trustedKeys: trust.trustedKeys().map((key) => key.kid),
  };
}
