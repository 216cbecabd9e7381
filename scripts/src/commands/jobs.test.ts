import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import blog from '@platform/blog';
import { StaticPermissions, startTestSubgraph, testConfig, waitFor, type TestSubgraph } from '@platform/kernel/testing';
import { jobsReport, type JobsReport } from '@platform/kernel/tools';
import { platformctl } from './__tests__/platformctl-cli.js';

describe('platformctl jobs', () => {
  let handle: TestSubgraph | undefined;
  let env: Record<string, string>;
  let prepared: ReturnType<typeof testConfig>;
  let healed = false;

  beforeAll(async () => {
    prepared = testConfig();
    const { config } = prepared;
    // blog, with one more queue whose jobs fail until healed.
    const probed = {
      ...blog,
      jobs: {
        ...blog.jobs,
        probe: {
          attempts: 1,
          async handler() {
            if (!healed) throw new Error('the probe failed');
          },
        },
      },
    };
    handle = await startTestSubgraph(probed, { config, permissions: new StaticPermissions({}) });
    env = {
      DATA_DIR: config.dataDir,
      LOG_LEVEL: 'warn',
      PLATFORM_ENV: 'test',
      PLATFORM_SERVICES__BLOG__DB_SCHEMA: config.services.blog!.dbSchema!,
      // The running blog's address, for the embedded database's case (platformctl asks it).
      PLATFORM_SERVICES__BLOG__URL: handle.url,
      PLATFORM_REDIS__KEY_PREFIX: config.redis.keyPrefix,
    };
  });
  afterAll(async () => {
    await handle?.stop();
    await prepared.cleanup();
  });

  it('lists a dead job with its error and retries it, through the running service or on the store', async () => {
    const id = await handle!.runtime.jobs.enqueue('probe', { n: 1 });
    const probe = async () =>
      (await jobsReport(handle!.runtime.jobs)).queues.find((queue) => queue.queue === 'blog.probe')?.counts;
    await waitFor(async () => (await probe())?.dead === 1, 'the probe to be dead');

    const listed = await platformctl(['jobs', 'list', 'blog', '--json'], env);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const report = (JSON.parse(listed.stdout) as { blog: JobsReport }).blog;
    expect(report.backend).toBe(handle!.runtime.redis ? 'bullmq' : 'database');
    expect(report.dead[0]).toMatchObject({
      id,
      queue: 'blog.probe',
      attempts: 1,
      lastError: 'Error: the probe failed',
    });
    expect(report.queues.find((queue) => queue.queue === 'blog.probe')?.counts.dead).toBe(1);

    healed = true;
    const retried = await platformctl(['jobs', 'retry', 'blog', id], env);
    expect(retried).toMatchObject({ code: 0, stdout: `blog: job ${id} is waiting again (its tries start over)\n` });
    await waitFor(async () => (await probe())?.completed === 1, 'the retried probe to complete');

    const text = await platformctl(['jobs', 'list', 'blog'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^blog \((database|bullmq)\)\n {2}queue +waiting +delayed +active +completed +dead\n(?: {2}blog\.[a-z-]+ .*\n)*? {2}blog\.probe +0 +0 +0 +1 +0/m,
    );
  }, 120_000); // three CLI runs: seconds each on a loaded machine
});
