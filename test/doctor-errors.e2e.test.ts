/**
 * What an operator sees when something is wrong before anything runs: a bad setting stops
 * `npm start`, a service's main and platformctl with one line naming the key and the variable that
 * set it (exit 1, no stack); any other platformctl error is one plain line, its stack only with
 * --verbose.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { platformctl, REPO, tempDir, type Run } from '../scripts/src/commands/__tests__/platformctl-cli.js';

const BANANA = {
  PLATFORM_HTTP__BODY_LIMIT: 'banana',
};
const LINE =
  'config: http.bodyLimit from PLATFORM_HTTP__BODY_LIMIT = "banana": expected a number of bytes, or with a unit: 512kb, 4mb';
const STACK = /\n\s+at /;

/** A TypeScript entry point run as `npm start` runs it (Node 22, the swc loader), with `env` added. */
function runScript(script: string, env: Record<string, string>): Promise<Run> {
  return new Promise((done) => {
    execFile(
      join(REPO, 'node_modules', '.bin', 'node'),
      ['--import', './scripts/register.mjs', script],
      { cwd: REPO, env: { ...process.env, DATA_DIR: tempDir('doctor-errors-'), ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

describe('a bad setting', () => {
  it.each([
    ['npm start', 'scripts/src/start.ts'],
    ["a service's main", 'subgraphs/blog/src/main.ts'],
  ])(
    'stops %s with one line naming the variable, exit 1, no stack',
    async (_what, script) => {
      const run = await runScript(script, { ...BANANA, NODE_ENV: 'development', PLATFORM_ENV: 'development' });
      expect(run.code).toBe(1);
      expect(run.stderr.trim()).toBe(LINE);
      expect(run.stdout).not.toMatch(/ready/i);
    },
    60_000,
  );

  it("names a module's setting and its variable too", async () => {
    const run = await runScript('subgraphs/blog/src/main.ts', {
      PLATFORM_ENV: 'development',
      PLATFORM_MODULES__BLOG__COUNT_CACHE_TTL_SEC: 'soon',
      PLATFORM_SERVICES__BLOG__PORT: '0',
    });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      'config: modules.blog.countCacheTtlSec from PLATFORM_MODULES__BLOG__COUNT_CACHE_TTL_SEC = "soon": Invalid input: expected number, received string',
    );
  }, 60_000);

  it('is a FAIL line of doctor, and one line of any other command', async () => {
    const doctor = await platformctl(['doctor'], BANANA);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout.split('\n')[0]).toBe(`FAIL  config  ${LINE.replace(/^config: /, '')}`);
    expect(doctor.stdout).toMatch(/fix: correct the value in the file or variable named/);

    const jobs = await platformctl(['service-credential'], BANANA);
    expect(jobs.code).toBe(1);
    expect(jobs.stderr.trim()).toBe(LINE);
  }, 60_000);
});

describe('platformctl errors', () => {
  it('are one plain line; --verbose adds the stack', async () => {
    // Nothing listens on port 9: identity's database cannot be reached.
    const env = { DATABASE_URL: 'postgres://postgres@127.0.0.1:9/none' };
    const plain = await platformctl(['keys', 'list'], env);
    expect(plain.code).toBe(1);
    expect(plain.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^platformctl: .*ECONNREFUSED.* \(--verbose shows where\)$/),
    ]);
    expect(plain.stderr).not.toMatch(STACK);

    const verbose = await platformctl(['--verbose', 'keys', 'list'], env);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/ECONNREFUSED/);
    expect(verbose.stderr).toMatch(STACK);
  }, 60_000);
});
