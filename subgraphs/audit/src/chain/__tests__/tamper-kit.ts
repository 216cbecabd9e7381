import { randomUUID } from 'node:crypto';
import { as, event, tablesOf, type AuditTestHandle } from '../../__tests__/start-audit.js';
import { mapEvent } from '../../recording/event-mapping.js';
import type { ChainRecord } from '../canonical.js';

export const VERIFY = `{ verifyAuditChain {
  valid checked firstBrokenId firstBrokenSeq problem reason latestCheckpointSeq latestCheckpointAt
} }`;

export interface VerifyAnswer {
  valid: boolean;
  checked: number;
  firstBrokenId: string | null;
  firstBrokenSeq: number | null;
  problem: string | null;
  reason: string | null;
  latestCheckpointSeq: number | null;
  latestCheckpointAt: string | null;
}

/** `verifyAuditChain` through GraphQL, as an auditor asks it. */
export async function verifyAs(handle: AuditTestHandle, auditor: string): Promise<VerifyAnswer> {
  const { body } = await handle.query<{ verifyAuditChain: VerifyAnswer }>(VERIFY, undefined, as(auditor));
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!.verifyAuditChain;
}

/** Appends `n` records through the recorder, as events arriving would. */
export async function appendRecords(handle: AuditTestHandle, n: number): Promise<ChainRecord[]> {
  const records: ChainRecord[] = [];
  for (let i = 0; i < n; i++) {
    const { draft } = mapEvent(event('blog.post.created', { postId: randomUUID(), authorId: randomUUID() }));
    const result = await handle.services.recorder.append(draft);
    if (!result.recorded) throw new Error('not recorded');
    records.push(result.record);
  }
  return records;
}

const TABLES = ['events', 'checkpoints', 'head', 'keys'] as const;

/**
 * Runs statements as an attacker with full database access would: the audit tables' triggers
 * disabled for the transaction (only the owner or a superuser can do that).
 */
export async function asSuperuser(handle: AuditTestHandle, statements: Array<[string, unknown[]?]>): Promise<void> {
  const t = tablesOf(handle);
  await handle.runtime.em().transactional(async (tx) => {
    for (const name of TABLES) await tx.execute(`alter table ${t[name]} disable trigger user`);
    for (const [sql, params] of statements) await tx.execute(sql, params ?? [], 'run');
    for (const name of TABLES) await tx.execute(`alter table ${t[name]} enable trigger user`);
  });
}

/** Copies the audit tables aside; `restore` puts them back exactly (tests tamper, then undo it). */
export async function snapshot(handle: AuditTestHandle): Promise<{ restore(): Promise<void> }> {
  const t = tablesOf(handle);
  const schema = `"${handle.runtime.db.schema}"`;
  const copy = (name: string) => `${schema}."saved_${name}"`;
  await handle.runtime.em().transactional(async (tx) => {
    for (const name of TABLES) {
      await tx.execute(`drop table if exists ${copy(name)}`);
      await tx.execute(`create table ${copy(name)} as select * from ${t[name]}`);
    }
  });
  return {
    restore: () =>
      asSuperuser(
        handle,
        TABLES.flatMap((name): Array<[string]> => [
          [`delete from ${t[name]}`],
          [`insert into ${t[name]} select * from ${copy(name)}`],
        ]),
      ),
  };
}
