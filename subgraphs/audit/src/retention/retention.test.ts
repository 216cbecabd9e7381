import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  asSuperuser,
  event,
  newCallers,
  recordCount,
  startAudit,
  tablesOf,
  type AuditTestHandle,
} from '../__tests__/start-audit.js';
import { chainHash, GENESIS_HASH, type ChainRecord } from '../chain/canonical.js';
import { latestPruneCheckpoint } from '../chain/checkpoint.store.js';
import { mapEvent } from '../recording/event-mapping.js';
import { AuditPruner, ChainBrokenError } from './pruner.js';
import { RetentionJob, retentionCutoff } from './retention-job.js';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('audit retention', () => {
  let handle: AuditTestHandle;
  let archiveDir: string;

  /** Appends a record of something that happened `daysAgo` days ago. */
  const append = async (daysAgo: number): Promise<ChainRecord> => {
    const draft = mapEvent(event('blog.post.created', { postId: randomUUID(), authorId: randomUUID() })).draft;
    const result = await handle.services.recorder.append({
      ...draft,
      occurredAt: new Date(Date.now() - daysAgo * DAY_MS),
    });
    if (!result.recorded) throw new Error('not recorded');
    return result.record;
  };
  const archives = () => readdirSync(archiveDir).sort();
  const readArchive = (name: string) =>
    readFileSync(join(archiveDir, name), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  beforeAll(async () => {
    archiveDir = mkdtempSync(join(tmpdir(), 'audit-archive-'));
    handle = await startAudit(newCallers(), {
      modules: { audit: { retentionDays: 30, pruneIntervalMinutes: 0, checkpointIntervalSeconds: 0, archiveDir } },
    });
  });

  afterAll(async () => {
    await handle?.stop();
    rmSync(archiveDir, { recursive: true, force: true });
  });

  const old: ChainRecord[] = [];
  let kept: ChainRecord[] = [];

  it('archives the oldest records, deletes them and leaves a signed checkpoint the chain verifies from', async () => {
    for (let i = 0; i < 5; i++) old.push(await append(60 - i));
    // A recent record stops the prune: only a prefix of the chain goes, so a late arrival with
    // an old time (the last one) waits until what comes before it is old enough too.
    kept = [await append(1), await append(90)];
    expect(handle.services.retention).toBeUndefined(); // pruneIntervalMinutes: 0 leaves it to platformctl

    const result = await handle.services.pruner.prune(retentionCutoff(30));
    expect(result.pruned).toBe(5);
    expect(await recordCount(handle)).toBe(2);

    const checkpoint = (await latestPruneCheckpoint(handle.runtime.em(), tablesOf(handle)))!;
    const { kid } = await handle.services.keys.own();
    expect(checkpoint).toMatchObject({ kind: 'prune', seq: 5, hash: old[4]!.hash, firstSeq: 1, pruned: 5, keyId: kid });
    const trust = await handle.services.keys.trust();
    expect(trust.check(checkpoint)).toEqual({ ok: true, signer: kid });
    expect(trust.check({ ...checkpoint, pruned: 4 })).toMatchObject({ ok: false, why: /does not verify/ });

    // The archive stands on its own: a header, then each record, each matching its hash.
    expect(archives()).toEqual([checkpoint.archive]);
    const content = readFileSync(join(archiveDir, checkpoint.archive!));
    expect(createHash('sha256').update(content).digest('hex')).toBe(checkpoint.archiveSha256);
    const [header, ...lines] = readArchive(checkpoint.archive!);
    expect(header).toEqual({ type: 'audit-archive', version: 1, firstSeq: 1, lastSeq: 5, previousHash: GENESIS_HASH });
    let previous = GENESIS_HASH;
    for (const line of lines) {
      const record = {
        ...line,
        occurredAt: new Date(line.occurredAt as string),
        recordedAt: new Date(line.recordedAt as string),
      };
      expect(chainHash(previous, record as unknown as ChainRecord)).toBe(line.hash);
      previous = line.hash as string;
    }
    expect(lines.map((line) => line.id)).toEqual(old.map((record) => record.id));

    expect(await handle.services.verify()).toMatchObject({ valid: true, checked: 2, checkpointSeq: 5 });
  });

  it('prunes nothing more while the oldest remaining record is within retention', async () => {
    expect(await handle.services.pruner.prune(retentionCutoff(30))).toEqual({ pruned: 0 });
    expect(archives()).toHaveLength(1);
  });

  it('lets nothing but the prune job delete: not even a transaction claiming to prune', async () => {
    const { events, checkpoints } = tablesOf(handle);
    const em = handle.runtime.em();
    await expect(
      em.transactional(async (tx) => {
        await tx.execute(`select set_config('audit.prune', 'on', true)`);
        await tx.execute(`delete from ${events} where seq = ?`, [kept[0]!.seq]);
      }),
    ).rejects.toThrow(/append-only/);
    await expect(em.execute(`update ${checkpoints} set hash = ?`, ['0'.repeat(64)])).rejects.toThrow(/append-only/);
    await expect(em.execute(`delete from ${checkpoints}`)).rejects.toThrow(/append-only/);
    expect(await recordCount(handle)).toBe(2);
  });

  it('reports a checkpoint altered without the key: the pruned records are then missing, the first remaining one named', async () => {
    const { checkpoints } = tablesOf(handle);
    await asSuperuser(handle, checkpoints, `update ${checkpoints} set pruned = pruned + 1`);
    expect(await handle.services.verify()).toMatchObject({
      valid: false,
      problem: 'RECORDS_MISSING',
      firstBrokenId: kept[0]!.id,
      firstBrokenSeq: 6,
      reason: expect.stringMatching(
        /records 1 to 5 are missing: .*prune checkpoint at record 5 .*signature does not verify/,
      ),
    });
    // The prune job will not build on it either.
    await expect(handle.services.pruner.prune(new Date(Date.now() + DAY_MS))).rejects.toThrow(/not validly signed/);
    await asSuperuser(handle, checkpoints, `update ${checkpoints} set pruned = pruned - 1`);
    expect(await handle.services.verify()).toMatchObject({ valid: true });
  });

  it('refuses to archive and delete a segment that does not verify, and keeps it', async () => {
    const { events } = tablesOf(handle);
    const target = kept[1]!;
    await asSuperuser(handle, events, `update ${events} set target_id = 'forged' where id = ?`, [target.id]);
    const tomorrow = new Date(Date.now() + DAY_MS);
    await expect(handle.services.pruner.prune(tomorrow)).rejects.toThrow(ChainBrokenError);
    await expect(handle.services.pruner.prune(tomorrow)).rejects.toMatchObject({ recordId: target.id });
    expect(await recordCount(handle)).toBe(2);
    expect(archives()).toHaveLength(1); // no archive, no temporary file left behind

    await asSuperuser(handle, events, `update ${events} set target_id = ? where id = ?`, [target.targetId, target.id]);
    expect((await handle.services.pruner.prune(tomorrow)).pruned).toBe(2);
    const next = await append(6);
    expect(next.seq).toBe(8);
    expect(await handle.services.verify()).toMatchObject({ valid: true, checked: 1, checkpointSeq: 7 });
  });

  it('runs as a job that prunes everything due, a batch at a time', async () => {
    for (let i = 0; i < 4; i++) await append(10);
    const pruner = new AuditPruner({
      db: handle.runtime.db,
      archiveDir,
      keys: handle.services.keys,
      batchLimit: 2,
      logger: handle.logger,
    });
    const job = new RetentionJob({ pruner, retentionDays: 5, logger: handle.logger });
    expect(await job.run()).toMatchObject({ pruned: 5 });
    expect(await recordCount(handle)).toBe(0);
    expect(archives()).toHaveLength(5);
    expect(await handle.services.verify()).toMatchObject({ valid: true, checked: 0, checkpointSeq: 12 });
    const after = await append(0);
    expect(after.seq).toBe(13);
    expect(await handle.services.verify()).toMatchObject({ valid: true, checked: 1 });
  });
});
