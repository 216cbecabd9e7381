// The edge benchmark must not rot: `npm run bench:edge -- --smoke` runs both phases for a couple of
// seconds. Its numbers are not judged here (docs/performance.md); what every answer was is.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { benchResult, runBench } from './fixtures/bench-run.js';

interface Phase {
  name: string;
  latencies: { sent: number; ok: number };
  attacks: Array<{ attack: string; outcomes: { [outcome: string]: number } }>;
}

interface Record {
  alone: { sent: number; ok: number };
  phases: Phase[];
}

describe('npm run bench:edge -- --smoke', () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-edge-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('measures a normal client alone and under attack, every attack refused as a client error', async () => {
    await runBench('edge.ts', ['--smoke', '--out', out]);
    const record = benchResult<Record>(out, 'edge-');
    expect(record.phases.map((phase) => phase.name)).toEqual(['paced attack', 'flood']);
    for (const latencies of [record.alone, ...record.phases.map((phase) => phase.latencies)]) {
      expect(latencies.sent).toBeGreaterThan(0);
      expect(latencies.ok).toBe(latencies.sent);
    }
    for (const phase of record.phases) {
      const outcomes = Object.fromEntries(phase.attacks.map((a) => [a.attack, Object.keys(a.outcomes)]));
      for (const big of ['the 10^6-post query', '10,000 aliases (350 KiB)', '1,000 aliased 100-post pages']) {
        // Refused by their shape, or (once the address used its budget) before they are read.
        expect(outcomes[big]!.every((outcome) => ['400 QUERY_TOO_COMPLEX', '429 RATE_LIMITED'].includes(outcome))).toBe(
          true,
        );
      }
      const all = phase.attacks.flatMap((a) => Object.keys(a.outcomes));
      expect(all.filter((outcome) => /^5\d\d|INTERNAL_SERVER_ERROR|failed/.test(outcome))).toEqual([]);
    }
  }, 240_000);
});
