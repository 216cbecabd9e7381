/**
 * `npm run platformctl -- doctor` against the supergraph `npm start` runs (the system stack):
 * green, every check OK or advisory, exit 0. Doctor finds the stack's free ports and private data
 * directory through the same configuration variables an operator would set.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { systemStack } from './stack.js';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

describe('platformctl doctor on npm start', () => {
  it('is green: no FAIL line, exit 0', async () => {
    const stack = systemStack();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PLATFORM_ENV: 'development',
      DATA_DIR: stack.dataDir,
      PLATFORM_GATEWAY__PORT: new URL(stack.gateway).port,
      // Empty: the embedded database and no Redis, as `npm start` runs.
      DATABASE_URL: '',
      REDIS_URL: '',
    };
    delete env.NODE_ENV;
    for (const [name, origin] of Object.entries(stack.subgraphs)) {
      env[`PLATFORM_SERVICES__${name.toUpperCase().replace(/-/g, '_')}__URL`] = `${origin}/graphql`;
    }
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile(
        'npm',
        ['run', '-s', 'platformctl', '--', 'doctor'],
        { cwd: ROOT, env, timeout: 120_000 },
        (error, stdout, stderr) =>
          done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
      );
    });
    expect(run.stdout.split('\n').filter((line) => line.startsWith('FAIL'))).toEqual([]);
    expect(run.code).toBe(0);
    for (const name of [...Object.keys(stack.subgraphs), 'gateway']) {
      expect(run.stdout).toMatch(new RegExp(`^OK +service ${name} `, 'm'));
    }
    expect(run.stdout).toMatch(/^OK +composition /m);
    expect(run.stdout).toMatch(/^OK +audit chain /m);
    expect(run.stdout).toMatch(/^OK +jwks /m);
  });
});
