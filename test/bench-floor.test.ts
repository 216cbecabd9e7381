// The fan-out floor benchmark (`npm run bench:subscriptions:floor`) must keep working: on a few
// sockets it delivers every frame to every socket and writes its JSON. Its numbers are not judged
// here (they belong to docs/performance.md).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';

const ROOT = new URL('..', import.meta.url).pathname;

describe('npm run bench:subscriptions:floor', () => {
  const out = mkdtempSync(join(tmpdir(), 'bench-floor-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it.each([
    ['wire', '0'],
    ['raw', '2'],
  ])(
    'delivers every frame to every socket (%s client, %s worker threads)',
    async (client, workers) => {
      const args = ['--sockets', '40', '--events', '3', '--warmup-events', '1', '--interval-ms', '50'];
      const child = spawn(
        process.execPath,
        [
          '--import',
          './scripts/register.mjs',
          'bench/subscriptions-floor.ts',
          ...args,
          '--client',
          client,
          '--client-workers',
          workers,
          '--out',
          out,
        ],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      if (code !== 0) throw new Error(`the floor benchmark exited with ${code}:\n${output.slice(-4000)}`);

      const file = readdirSync(out)
        .filter((name) => name.startsWith('subscriptions-floor-') && name.endsWith('.json'))
        .map((name) => join(out, name))
        .find(
          (path) =>
            (JSON.parse(readFileSync(path, 'utf8')) as { options: { client: string } }).options.client === client,
        );
      expect(file).toBeDefined();
      const record = JSON.parse(readFileSync(file!, 'utf8')) as {
        deliveries: number;
        missed: number;
        writeToClientMs: { count: number; p50: number; p99: number; max: number };
        writeLoopMeanMs: number;
      };
      expect(record).toMatchObject({ deliveries: 120, missed: 0 });
      expect(record.writeToClientMs.count).toBe(120);
      expect(record.writeToClientMs.p50).toBeGreaterThan(0);
      expect(record.writeToClientMs.p99).toBeGreaterThanOrEqual(record.writeToClientMs.p50);
      expect(record.writeLoopMeanMs).toBeGreaterThan(0);
    },
    60_000,
  );
});
