import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ModuleDatabase } from '@platform/kernel';
import { openDatabase, ServiceMetrics } from '@platform/kernel/testing';
import { event, newCallers, recordCount, startAudit, type AuditTestHandle } from '../__tests__/start-audit.js';
import { mapEvent } from '../recording/event-mapping.js';
import { withPruneLock } from './prune-lock.js';
import { AuditPruner } from './pruner.js';
import { RetentionJob, retentionCutoff } from './retention-job.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Several audit instances (and `platformctl audit prune`) prune one chain: one prune at a time,
 * the others skip (the retention job) or wait (platformctl), so records are archived once.
 */
describe('one audit prune at a time', () => {
  let handle: AuditTestHandle;
  let archiveDir: string;
  const cutoff = retentionCutoff(30);

  const appendOld = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const draft = mapEvent(event('blog.post.created', { postId: randomUUID(), authorId: randomUUID() })).draft;
      const result = await handle.services.recorder.append({
        ...draft,
        occurredAt: new Date(Date.now() - 60 * DAY_MS),
      });
      if (!result.recorded) throw new Error('not recorded');
    }
  };
  const pruner = (db: ModuleDatabase): AuditPruner =>
    new AuditPruner({ db, archiveDir, keys: handle.services.keys, batchLimit: 100_000, logger: handle.logger });
  /** Archives only: temporary files never stay behind. */
  const archives = (): string[] => readdirSync(archiveDir).sort();

  beforeAll(async () => {
    // One archive directory, as N instances must share (a volume), so a second archive would show.
    archiveDir = mkdtempSync(join(tmpdir(), 'audit-prune-lock-'));
    handle = await startAudit(newCallers(), {
      modules: { audit: { retentionDays: 30, pruneIntervalMinutes: 0, checkpointIntervalSeconds: 0, archiveDir } },
    });
  });

  afterAll(async () => {
    await handle?.stop();
    rmSync(archiveDir, { recursive: true, force: true });
  });

  it('runs one of two prunes started at once: the other reports busy, or waits and finds nothing left', async () => {
    await appendOld(6);
    const [first, second] = await Promise.all([
      handle.services.pruner.prune(cutoff, { wait: false }),
      pruner(handle.runtime.db).prune(cutoff, { wait: false }),
    ]);
    expect(first.pruned).toBe(6);
    expect(second).toEqual({ pruned: 0, busy: true });
    expect(archives()).toEqual([first.checkpoint!.archive]);

    await appendOld(3);
    const waited = await Promise.all([handle.services.pruner.prune(cutoff), pruner(handle.runtime.db).prune(cutoff)]);
    expect(waited.map((result) => result.pruned)).toEqual([3, 0]);
    expect(waited[1]).toEqual({ pruned: 0 });
    expect(archives()).toHaveLength(2);
    expect(await recordCount(handle)).toBe(0);
    expect(await handle.services.verify()).toMatchObject({ valid: true, checkpointSeq: 9 });
  });

  it('lets the retention job leave the work to a prune already running', async () => {
    await appendOld(2);
    const retention = new RetentionJob({
      pruner: handle.services.pruner,
      retentionDays: 30,
      logger: handle.logger,
    });
    const held = await withPruneLock(handle.runtime.db, () => retention.runOnce(), { wait: false });
    expect(held).toEqual({ busy: false, value: { pruned: 0, busy: true } });
    expect(await recordCount(handle)).toBe(2);
    expect((await handle.services.pruner.prune(cutoff, { wait: false })).pruned).toBe(2);
  });

  it("refuses, in production, to archive under an instance's own DATA_DIR: nothing is pruned", async () => {
    await appendOld(1);
    const refusing = new AuditPruner({
      db: handle.runtime.db,
      archiveDir,
      refuseDefaultArchiveDir: true,
      keys: handle.services.keys,
      batchLimit: 100_000,
      logger: handle.logger,
    });
    const before = archives();
    await expect(refusing.prune(cutoff)).rejects.toMatchObject({
      name: 'ConfigError',
      issues: [{ path: 'modules.audit.archiveDir', message: expect.stringMatching(/nothing was pruned/) }],
    });
    expect(await recordCount(handle)).toBe(1);
    expect(archives()).toEqual(before);
    expect((await handle.services.pruner.prune(cutoff)).pruned).toBe(1);
  });

  if (process.env.DATABASE_URL) {
    describe('across instances on PostgreSQL (each its own connection pool)', () => {
      let other: ModuleDatabase;

      beforeAll(async () => {
        other = await openDatabase({
          config: handle.runtime.platform,
          module: 'audit',
          entities: [],
          migrations: [],
          logger: handle.logger,
          metrics: new ServiceMetrics('audit'),
        });
      });

      afterAll(async () => {
        await other?.close();
      });

      it('holds off another instance: busy without waiting, pruning once released when waiting', async () => {
        await appendOld(4);
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        let locked!: () => void;
        const holding = new Promise<void>((resolve) => (locked = resolve));
        const holder = withPruneLock(
          other,
          async () => {
            locked();
            await held;
          },
          { wait: false },
        );
        await holding;
        expect(await handle.services.pruner.prune(cutoff, { wait: false })).toEqual({ pruned: 0, busy: true });
        let settled = false;
        const waiting = handle.services.pruner.prune(cutoff).finally(() => (settled = true));
        await new Promise((resolve) => setTimeout(resolve, 600));
        expect(settled).toBe(false);
        expect(await recordCount(handle)).toBe(4);
        release();
        expect(await holder).toEqual({ busy: false, value: undefined });
        expect((await waiting).pruned).toBe(4);
        expect(await handle.services.verify()).toMatchObject({ valid: true });
      });

      it('shares the work of two instances pruning at once: every record archived once', async () => {
        await appendOld(5);
        const before = archives().length;
        const results = await Promise.all([
          handle.services.pruner.prune(cutoff, { wait: false }),
          pruner(other).prune(cutoff, { wait: false }),
        ]);
        expect(results.reduce((sum, result) => sum + result.pruned, 0)).toBe(5);
        expect(results.filter((result) => result.checkpoint)).toHaveLength(1);
        expect(archives()).toHaveLength(before + 1);
        expect(await recordCount(handle)).toBe(0);
        expect(await handle.services.verify()).toMatchObject({ valid: true });
      });
    });
  }
});
