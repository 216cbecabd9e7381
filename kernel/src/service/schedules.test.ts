import { describe, expect, it } from '@jest/globals';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../config/load.js';
import { manifestSchema } from '../module/manifest.js';
import { moduleSchedules } from './runtime.js';

const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));

const manifest = manifestSchema.parse({
  name: 'chores',
  version: '0.1.0',
  kernel: '^0.1.0',
  schedules: [
    { name: 'nightly', cron: '0 3 * * *', handler: 'sweep' },
    { name: 'hourly', cron: '0 * * * *', handler: 'report' },
  ],
});

const configWith = (env: Record<string, string>) =>
  loadConfig({ env: { PLATFORM_ENV: 'development', ...env }, cwd: ROOT });

describe("a module's schedules as config leaves them", () => {
  it('are module.yaml’s by default, ticked by every serving instance', () => {
    const config = configWith({});
    expect(config.jobs.runSchedules).toBe(true);
    expect(moduleSchedules(manifest, config)).toEqual([
      { name: 'nightly', cron: '0 3 * * *', queue: 'sweep' },
      { name: 'hourly', cron: '0 * * * *', queue: 'report' },
    ]);
  });

  it('take another cron, or stop, by `jobs.schedules.<module>.<name>`', () => {
    const config = configWith({
      PLATFORM_JOBS__SCHEDULES: '{ chores.nightly: { cron: "30 4 * * 1" }, chores.hourly: { enabled: false } }',
    });
    expect(moduleSchedules(manifest, config)).toEqual([{ name: 'nightly', cron: '30 4 * * 1', queue: 'sweep' }]);
  });

  it('refuse a cron that is not one, naming the key', () => {
    let error: unknown;
    try {
      configWith({ PLATFORM_JOBS__SCHEDULES: '{ chores.nightly: { cron: "every night" } }' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/jobs\.schedules\.chores\.nightly\.cron.*cron expression/);
  });

  it('are not ticked in the test environment: suites enqueue a schedule’s job themselves', () => {
    expect(loadConfig({ env: { PLATFORM_ENV: 'test' }, cwd: ROOT }).jobs.runSchedules).toBe(false);
  });
});
