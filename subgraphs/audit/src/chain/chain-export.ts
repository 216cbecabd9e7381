import type { EntityManager } from '@platform/kernel';
import { basename, dirname, resolve } from 'node:path';
import { IsolationLevel } from '@mikro-orm/core';
import { ArchiveWriter } from '../retention/archive.js';
import { canonicalJson, type ChainRecord } from './canonical.js';
import { readHead, recordsAfter, type AuditTables, type ChainHead } from './chain.store.js';
import { checkpointsBetween, type Checkpoint } from './checkpoint.store.js';
import { registeredKeys } from './key.store.js';

/** Format version of an export file; see docs/audit.md, "Exports". */
export const EXPORT_VERSION = 1;

export interface ExportSummary {
  file: string;
  /** sha256 (hex) of the file, to note down beside it. */
  sha256: string;
  head: ChainHead;
  records: number;
  checkpoints: number;
  keys: number;
}

const checkpointLine = (c: Checkpoint): string =>
  canonicalJson({ type: 'checkpoint', ...c, createdAt: c.createdAt.toISOString() });

const recordLine = (r: ChainRecord): string =>
  canonicalJson({
    type: 'record',
    ...r,
    occurredAt: r.occurredAt.toISOString(),
    recordedAt: r.recordedAt.toISOString(),
  });

/**
 * Writes the chain as JSON lines (canonical JSON, one object per line): a header with the chain
 * head, every registered public key, then every checkpoint and record in chain order (a checkpoint
 * at seq `s` right after record `s`), then an end line with the counts. Read in one repeatable-read
 * transaction, so the file is one consistent picture while appends continue.
 */
export async function exportChain(em: EntityManager, tables: AuditTables, file: string): Promise<ExportSummary> {
  const path = resolve(file);
  const writer = new ArchiveWriter(dirname(path), basename(path));
  try {
    const summary = await em.transactional(
      async (tx) => {
        const head = await readHead(tx, tables);
        const keys = await registeredKeys(tx, tables);
        await writer.open({
          type: 'audit-export',
          version: EXPORT_VERSION,
          exportedAt: new Date().toISOString(),
          head,
        });
        for (const key of keys) {
          await writer.write(
            canonicalJson({
              type: 'key',
              kid: key.kid,
              alg: 'EdDSA',
              jwk: key.jwk,
              createdAt: key.createdAt?.toISOString() ?? null,
            }),
          );
        }
        let records = 0;
        let checkpoints = 0;
        let cpSeq = -1;
        let cpId = 0;
        /** Every checkpoint not written yet up to `until` (all when omitted). */
        const checkpointsUpTo = async (until: number | undefined): Promise<Checkpoint[]> => {
          const found: Checkpoint[] = [];
          for (;;) {
            const batch = await checkpointsBetween(tx, tables, cpSeq, until, 5000, cpId);
            for (const { id, ...c } of batch) {
              found.push(c);
              cpSeq = c.seq;
              cpId = id;
            }
            if (batch.length < 5000) return found;
          }
        };
        const writeCheckpoint = async (c: Checkpoint): Promise<void> => {
          await writer.write(checkpointLine(c));
          checkpoints++;
        };
        for (let after = 0; ;) {
          const batch = await recordsAfter(tx, tables, after, 2000);
          if (batch.length === 0) break;
          const waiting = await checkpointsUpTo(batch.at(-1)!.seq);
          let next = 0;
          for (const record of batch) {
            while (next < waiting.length && waiting[next]!.seq < record.seq) await writeCheckpoint(waiting[next++]!);
            await writer.write(recordLine(record));
            records++;
            while (next < waiting.length && waiting[next]!.seq === record.seq) await writeCheckpoint(waiting[next++]!);
            after = record.seq;
          }
          while (next < waiting.length) await writeCheckpoint(waiting[next++]!);
        }
        for (const c of await checkpointsUpTo(undefined)) await writeCheckpoint(c);
        await writer.write(canonicalJson({ type: 'end', records, checkpoints, keys: keys.length }));
        return { head, records, checkpoints, keys: keys.length };
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
    );
    const sha256 = await writer.commit();
    return { file: path, sha256, ...summary };
  } catch (error) {
    await writer.abort();
    throw error;
  }
}
