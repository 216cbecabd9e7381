/**
 * Shared by the platformctl-*.test.ts suites: the real CLI run in a child process, and temporary
 * directories removed after the suite that made them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from '@jest/globals';

export const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..');
const CLI = join(REPO, 'scripts', 'src', 'platformctl.ts');
const REGISTER = join(REPO, 'scripts', 'register.mjs');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process on Node 22 (node_modules/.bin first on PATH). */
export function platformctl(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...extraEnv,
    PATH: `${join(REPO, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
  };
  delete env.PLATFORM_ROOT;
  return new Promise((done) => {
    execFile(
      'node',
      ['--import', REGISTER, CLI, ...args],
      { env, cwd: REPO, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

// Imported by a test file, this module is evaluated in that file's suite: the hook is its own.
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A new temporary directory (`<prefix>XXXXXX`), removed after the suite. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  roots.push(dir);
  return dir;
}
