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
    // identity answers the 20 authors of a page in one batch.
    expect(record.checks.identityStatementsPerJoin).toBe(1);
  }, 180_000);
});
