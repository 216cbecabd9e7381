// A module's jobs as the kernel runs them: declared in defineModule and module.yaml, started with the
// serving instance, operated over the internal routes, counted on /metrics.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Query, Resolver } from 'type-graphql';
import { StaticPermissions } from '../graphql/permissions.js';
import { publicAccess } from '../graphql/rules.js';
import { defineModule, type ModuleRuntime } from '../module/define.js';
import { SERVICE_CREDENTIAL_HEADER, serviceCredential } from '../security/service-credential.js';
import { serviceSecret } from '../security/service-secret.js';
import { startTestSubgraph, waitFor, type TestSubgraph } from '../testing/index.js';
import type { ScheduleRun } from './queue.js';
import { backendKinds } from './__tests__/harness.js';
import type { JobContext, JobsReport } from './types.js';

@Resolver()
class PingResolver {
  @Query(() => String)
  ping(): string {
    return 'pong';
  }
}

interface Services {
  greeted: string[];
  ticks: ScheduleRun[];
}

describe.each(backendKinds())('a module declaring jobs and a schedule ($kind)', ({ kind }) => {
  let dir: string;
  let handle: TestSubgraph<unknown, Services>;
  let credential: string;
  let failing = true;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jobs-module-'));
    writeFileSync(
      join(dir, 'module.yaml'),
      [
        'name: chores',
        'version: 0.1.0',
        'kernel: ^0.1.0',
        'schedules:',
        '  - { name: heartbeat, cron: "* * * * * *", handler: tick, description: Every second }',
        '',
      ].join('\n'),
    );
    const chores = defineModule({
      manifest: join(dir, 'module.yaml'),
      entities: [],
      migrations: [],
      resolvers: [PingResolver],
      rules: { Query: { ping: publicAccess } },
      services: (): Services => ({ greeted: [], ticks: [] }),
      jobs: {
        greet: {
          attempts: 2,
          backoffMs: 10,
          async handler(payload: { name: string }, runtime: ModuleRuntime, services: Services, job: JobContext) {
            expect(runtime.manifest.name).toBe('chores');
            if (payload.name === 'fails' && failing) throw new Error(`no greeting on try ${job.attempt}`);
            services.greeted.push(payload.name);
          },
        },
        tick: {
          async handler(payload: ScheduleRun, _runtime: ModuleRuntime, services: Services) {
            services.ticks.push(payload);
          },
        },
      },
    });
    handle = await startTestSubgraph(chores, {
      permissions: new StaticPermissions({}),
      overrides: {
        ...(kind === 'database' ? { redis: { url: null } } : {}),
        jobs: { pollIntervalMs: 50, runSchedules: true },
        services: { chores: { port: 0, dbSchema: `t_${randomBytes(4).toString('hex')}_chores` } },
      },
    });
    credential = serviceCredential(serviceSecret(handle.runtime.platform));
  });

  afterAll(async () => {
    await handle?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const internal = (path: string, method = 'GET', withCredential = true) =>
    fetch(`${handle.baseUrl}${path}`, {
      method,
      headers: withCredential ? { [SERVICE_CREDENTIAL_HEADER]: credential } : {},
    });

  it('runs enqueued jobs with the runtime and services, and the schedule every tick', async () => {
    await handle.runtime.jobs.enqueue('greet', { name: 'ada' });
    await waitFor(() => handle.services.greeted.includes('ada'), 'the job to run');
    await waitFor(() => handle.services.ticks.length >= 1, 'a tick of the schedule');
    expect(handle.services.ticks[0]?.schedule).toBe('heartbeat');
    await expect(handle.runtime.jobs.enqueue('unknown', {})).rejects.toThrow('no queue "unknown"');
  });

  it('reports queues, schedules and dead jobs to the service credential only, and retries a dead job', async () => {
    const id = await handle.runtime.jobs.enqueue('greet', { name: 'fails' });
    const report = async (): Promise<JobsReport> => (await internal('/internal/jobs')).json() as Promise<JobsReport>;
    await waitFor(async () => (await report()).dead.some((job) => job.id === id), 'the job to be dead');

    expect((await internal('/internal/jobs', 'GET', false)).status).toBe(401);
    const listed = await report();
    expect(listed.backend).toBe(kind);
    expect(listed.queues.map((queue) => queue.queue)).toEqual(['chores.greet', 'chores.tick']);
    expect(listed.schedules).toEqual([
      expect.objectContaining({ name: 'chores.heartbeat', cron: '* * * * * *', queue: 'chores.tick' }),
    ]);
    expect(listed.dead[0]).toMatchObject({ id, attempts: 2, lastError: 'Error: no greeting on try 2' });

    expect((await internal(`/internal/jobs/${id}/retry`, 'POST', false)).status).toBe(401);
    expect((await internal('/internal/jobs/00000000-0000-4000-8000-000000000000/retry', 'POST')).status).toBe(404);
    failing = false;
    const retried = await internal(`/internal/jobs/${id}/retry`, 'POST');
    expect(retried.status).toBe(200);
    await waitFor(() => handle.services.greeted.includes('fails'), 'the retried job to run');
    expect((await internal(`/internal/jobs/${id}/retry`, 'POST')).status).toBe(409);

    const metrics = await (await fetch(`${handle.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/jobs_total\{[^}]*queue="chores.greet"[^}]*status="dead"[^}]*\} 1/);
    expect(metrics).toMatch(/jobs_waiting\{[^}]*queue="chores.greet"[^}]*\} 0/);
  });
});
