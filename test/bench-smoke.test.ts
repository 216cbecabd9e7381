// The benchmark harness must not rot: `npm run bench -- smoke` runs every case of the gateway
// benchmark for about a second on tiny data and must finish with every answer accepted. The
// numbers are not judged here (they belong to bench/ and docs/performance.md).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';

const ROOT = new URL('..', import.meta.url).pathname;

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
    const env: NodeJS.ProcessEnv = { ...process.env };
    // Its own in-process bus and caches: the shared Redis is for the test suites' own prefixes.
    delete env.REDIS_URL;
    const child = spawn(
      process.execPath,
      ['--import', './scripts/register.mjs', 'bench/main.ts', 'smoke', '--out', out],
      {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`bench smoke exited with ${code}:\n${output.slice(-4000)}`);

    const files = readdirSync(out).filter((name) => name.startsWith('gateway-smoke-') && name.endsWith('.json'));
    expect(files).toHaveLength(1);
    const record = JSON.parse(readFileSync(join(out, files[0]!), 'utf8')) as {
      summaries: Summary[];
      ratios: Array<{ id: string; value: number | null }>;
      checks: { identityStatementsPerJoin?: number };
    };
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
