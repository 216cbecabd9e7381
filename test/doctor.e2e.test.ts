/**
 * `platformctl doctor` against a running platform (in this process, as the end-to-end suites run
 * it; the real CLI in a child process pointed at it through the same config variables an operator
 * sets): green when all is well, a FAIL naming the module and migration when one is missing, a FAIL
 * naming identity and its URL when identity stops. On the embedded database doctor reads each
 * module through its running service; on PostgreSQL + Redis, from the database itself.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testConfig, dropTestSchema } from '@platform/kernel/testing';
import { platformctl, type Run } from '../scripts/src/commands/__tests__/platformctl-cli.js';
import { startPlatform, type RunningPlatform } from '../scripts/src/platform.js';
import { MODULES } from './helpers.js';

let platform: RunningPlatform;
let cleanup: () => Promise<void>;
let env: Record<string, string>;

const upper = (name: string): string => name.toUpperCase().replace(/-/g, '_');
const failLines = (run: Run): string[] => run.stdout.split('\n').filter((line) => line.startsWith('FAIL'));
const doctor = (args: string[] = []): Promise<Run> => platformctl(['doctor', ...args], env);

beforeAll(async () => {
  const made = testConfig({ gateway: { port: 0 } });
  cleanup = made.cleanup;
  platform = await startPlatform(made.config, MODULES);
  const { config } = made;
  env = {
    PLATFORM_ENV: 'test',
    DATA_DIR: config.dataDir,
    PLATFORM_GATEWAY__PORT: new URL(platform.gateway.url).port,
    PLATFORM_REDIS__KEY_PREFIX: config.redis.keyPrefix,
  };
  for (const [name, handle] of Object.entries(platform.subgraphs)) {
    env[`PLATFORM_SERVICES__${upper(name)}__URL`] = handle.url;
    env[`PLATFORM_SERVICES__${upper(name)}__DB_SCHEMA`] = handle.runtime.db.schema;
  }
}, 120_000);

afterAll(async () => {
  // identity was stopped by the last test: its schema goes through another module's connection.
  const identitySchema = platform.subgraphs.identity!.runtime.db.schema;
  const blog = platform.subgraphs.blog!.runtime.db;
  if (blog.kind === 'postgresql') await blog.orm.em.fork().execute(`drop schema if exists "${identitySchema}" cascade`);
  for (const [name, handle] of Object.entries(platform.subgraphs)) {
    if (name !== 'identity') await dropTestSchema(handle.runtime.db);
  }
  await platform.stop();
  await cleanup();
}, 60_000);

describe('platformctl doctor', () => {
  it('is green on a running platform: every check OK, exit 0; --json says the same', async () => {
    const run = await doctor();
    expect(failLines(run)).toEqual([]);
    expect(run.code).toBe(0);
    for (const check of ['config', 'modules', 'redis', 'composition', 'jwks', 'audit chain']) {
      expect(run.stdout).toMatch(new RegExp(`^OK +${check} `, 'm'));
    }
    for (const name of ['identity', 'authz', 'audit', 'blog', 'gateway']) {
      expect(run.stdout).toMatch(new RegExp(`^OK +service ${name} `, 'm'));
    }
    for (const name of ['identity', 'authz', 'audit', 'blog']) {
      expect(run.stdout).toMatch(new RegExp(`^OK +migrations ${name} +\\d+ applied, none pending`, 'm'));
      expect(run.stdout).toMatch(new RegExp(`^(OK|WARN) +queues ${name} `, 'm'));
    }

    // PostgreSQL is read directly; the embedded database through each running service.
    expect(run.stdout).toMatch(process.env.DATABASE_URL ? /none pending \(database\)/ : /none pending \(service\)/);
    expect(run.stdout).toMatch(process.env.REDIS_URL ? /^OK +redis +answering at/m : /^OK +redis +not configured/m);

    const json = await doctor(['--json']);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: Array<{ check: string; status: string }> };
    expect(report.ok).toBe(true);
    expect(report.checks.filter((c) => c.status === 'FAIL')).toEqual([]);
  }, 120_000);

  it('names the module and the migration that is not applied, with the command that applies it', async () => {
    const db = platform.subgraphs.blog!.runtime.db;
    const table = `"${db.schema}".mikro_orm_migrations`;
    const em = db.orm.em.fork();
    const [newest] = await em.execute<Array<{ id: number; name: string; executed_at: string }>>(
      `select id, name, executed_at from ${table} order by id desc limit 1`,
    );
    await em.execute(`delete from ${table} where id = ?`, [newest!.id]);
    try {
      const run = await doctor();
      expect(run.code).toBe(1);
      const fails = failLines(run);
      expect(fails).toContainEqual(expect.stringMatching(new RegExp(`^FAIL +migrations blog .*${newest!.name}`)));
      // blog's own /ready says the same (its migrations check); nothing else fails.
      for (const line of fails) expect(line).toMatch(/ blog /);
      expect(run.stdout).toContain('fix: ');
      expect(run.stdout).toMatch(/npm run platformctl -- migrate blog/);
    } finally {
      await em.execute(`insert into ${table} (id, name, executed_at) values (?, ?, ?)`, [
        newest!.id,
        newest!.name,
        newest!.executed_at,
      ]);
    }
  }, 120_000);

  it('fails naming identity and its URL once identity stops, and exits 1', async () => {
    const identity = platform.subgraphs.identity!;
    const origin = new URL(identity.url).origin;
    await identity.stop();
    const run = await doctor();
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^FAIL +service identity +identity does not answer at ${origin}/ready`, 'm'));
    expect(run.stdout).toMatch(/^FAIL +jwks /m);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack anywhere
  }, 120_000);
});
