// Process-level failures of a real service run by runMain in its own process: published (log
// line, Sentry event at a local ingest), then the graceful shutdown, then exit code 1.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { deleteRedisKeys } from '../testing/index.js';
import { SentryReceiver } from './__tests__/sentry-receiver.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = resolve(HERE, '..', '..', '..');
const SCRIPT = join(HERE, '__tests__', 'crashing-service.ts');

interface Exit {
  code: number | null;
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

describe('runMain after an uncaught exception or an unhandled rejection', () => {
  let receiver: SentryReceiver;
  const dirs: string[] = [];
  const suffix = randomBytes(4).toString('hex');

  beforeAll(async () => {
    receiver = await SentryReceiver.start();
  });

  afterAll(async () => {
    await receiver?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    if (process.env.DATABASE_URL) {
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      for (const crash of ['throw', 'reject'])
        await client.query(`drop schema if exists "t_${suffix}_${crash}" cascade`);
      await client.end();
    }
    if (process.env.REDIS_URL) await deleteRedisKeys(process.env.REDIS_URL, `test:${suffix}:*`);
  });

  /** Runs the crashing service to its end, its JSON log lines parsed. */
  function run(crash: 'throw' | 'reject'): Promise<Exit> {
    const dir = mkdtempSync(join(tmpdir(), 'crashy-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'module.yaml'), 'name: crashy\nversion: 0.1.0\nkernel: ^0.1.0\n');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PLATFORM_ENV: 'test',
      DATA_DIR: join(dir, 'var'),
      LOG_LEVEL: 'info',
      SENTRY_DSN: receiver.dsn,
      SENTRY_ENVIRONMENT: 'ci',
      MODULE_DIR: dir,
      CRASH: crash,
      PLATFORM_SERVICES__CRASHY__PORT: '0',
      PLATFORM_SERVICES__CRASHY__DB_SCHEMA: `t_${suffix}_${crash}`,
      PLATFORM_REDIS__KEY_PREFIX: `test:${suffix}`,
    };
    return new Promise((done) => {
      const child = execFile(
        process.execPath,
        ['--import', join(REPO, 'scripts', 'register.mjs'), SCRIPT],
        { env, cwd: REPO, timeout: 60_000 },
        (_error, stdout, stderr) => {
          const lines = stdout
            .split('\n')
            .filter((line) => line.startsWith('{'))
            .map((line) => JSON.parse(line) as Record<string, unknown>);
          done({ code: child.exitCode, lines, stderr });
        },
      );
    });
  }

  it.each([
    { crash: 'throw' as const, message: 'uncaught exception', type: 'Error', value: 'a timer exploded' },
    {
      crash: 'reject' as const,
      message: 'unhandled promise rejection',
      type: 'RangeError',
      value: 'nobody awaited this promise',
    },
  ])(
    '$crash: publishes it, shuts down gracefully and exits 1',
    async ({ crash, message, type, value }) => {
      const exit = await run(crash);
      const context = `stderr: ${exit.stderr}\nlog: ${JSON.stringify(exit.lines, null, 1)}`;
      expect({ code: exit.code, context }).toEqual({ code: 1, context });

      const index = (msg: string): number => exit.lines.findIndex((line) => line.msg === msg);
      const failure = exit.lines[index(message)];
      expect(failure).toMatchObject({
        level: 'error',
        module: 'crashy',
        kind: 'process',
        origin: crash === 'throw' ? 'uncaughtException' : 'unhandledRejection',
        err: { type, message: value },
      });
      // Published, then the usual shutdown (the module's onStop ran), then the exit.
      expect(index('shutting down')).toBeGreaterThan(index(message));
      expect(index('crashy onStop hook ran')).toBeGreaterThan(index('shutting down'));
      expect(index('stopped')).toBeGreaterThan(index('crashy onStop hook ran'));

      // Sent before the process exited (the bus is flushed last in the shutdown).
      const event = await receiver.waitForEvent((e) => e.exception?.values?.[0]?.value === value, 1000);
      expect(event).toMatchObject({ level: 'fatal', environment: 'ci', tags: { module: 'crashy', kind: 'process' } });
      expect(event.exception?.values?.[0]?.type).toBe(type);
    },
    90_000,
  );
});
