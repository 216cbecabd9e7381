// The benchmark harness must not rot: `npm run bench -- smoke` runs every case of the gateway
// benchmark for about a second on tiny data and must finish with every answer accepted. The
// numbers are not judged here (they belong to bench/ and docs/performance.md).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { benchResult, runBench } from './fixtures/bench-run.js';

interface Summary {
  caseId: string;
  runs: number;
  rps: number;
  failed: number;
}

describe('npm run bench -- smoke', () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-smoke-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs every case end to end and writes its JSON', async () => {
    await runBench('main.ts', ['smoke', '--out', out]);
    const record = benchResult<{
      summaries: Summary[];
      ratios: Array<{ id: string; value: number | null }>;
      checks: { identityStatementsPerJoin?: number };
    }>(out, 'gateway-smoke-');
    expect(record.summaries.map((s) => s.caseId).sort()).toEqual(
      [
        'ceiling',
        'direct',
        'hive-join',
        'hive-page',
        'login',
        'ours-join',
        'ours-join-nodedupe',
        'ours-page',
        'ours-page-nodedupe',
        'ours-page-auth',
        'stock-join',
        'stock-page',
      ].sort(),
    );
    for (const summary of record.summaries) {
      expect(summary).toMatchObject({ runs: 1, failed: 0 });
      expect(summary.rps).toBeGreaterThan(0);
    }
    expect(record.ratios.filter((ratio) => ratio.value === null)).toEqual([]);
    // identity answers the 20 authors of a page in one batch, or from its user cache (none).
    expect(record.checks.identityStatementsPerJoin).toBeLessThanOrEqual(1);
  }, 180_000);

  it('runs the user-cache benchmark (identity _entities with and without the cache) and writes its JSON', async () => {
    await runBench('user-cache.ts', ['--smoke', '--out', out]);
    const record = benchResult<{
      summaries: Array<Summary & { selectsPerRequest: number; hitRatio: number | null }>;
      ratios: Array<{ id: string; value: number | null }>;
    }>(out, 'user-cache-');
    const byId = new Map(record.summaries.map((summary) => [summary.caseId, summary]));
    expect([...byId.keys()].sort()).toEqual(['cached', 'cached-unknown', 'uncached', 'uncached-unknown']);
    for (const summary of record.summaries) {
      expect(summary).toMatchObject({ runs: 1, failed: 0 });
      expect(summary.rps).toBeGreaterThan(0);
    }
    expect(record.ratios.filter((ratio) => ratio.value === null)).toEqual([]);
    // Warm, the cache answers the references without asking the database.
    expect(byId.get('cached')!.selectsPerRequest).toBeLessThan(byId.get('uncached')!.selectsPerRequest / 2);
    expect(byId.get('cached')!.hitRatio).toBeGreaterThan(0.5);
  }, 120_000);
});
