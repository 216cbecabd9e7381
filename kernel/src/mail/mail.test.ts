// runtime.mail end to end: a module with templates, its mail queued as jobs and delivered to a real
// SMTP server in its own process, which refuses when told to; audited in the module's outbox.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { Query, Resolver } from 'type-graphql';
import { StaticPermissions } from '../graphql/permissions.js';
import { publicAccess } from '../graphql/rules.js';
import { kernelJobs } from '../jobs/service.js';
import { defineModule, type ModuleDefinition } from '../module/define.js';
import { startSmtpServer, type TestSmtpServer } from '../testing/smtp-server.js';
import {
  dropTestSchema,
  startSubgraph,
  startTestSubgraph,
  testConfig,
  waitFor,
  type TestSubgraph,
} from '../testing/index.js';
import { escapeHtml, type MailTemplates } from './templates.js';

@Resolver()
class PingResolver {
  @Query(() => String)
  ping(): string {
    return 'pong';
  }
}

const SECRET = 'tok_never-in-events';
const templates = {
  welcome: (data: { name: string; link: string }) => ({
    subject: `Welcome, ${data.name}`,
    text: `Hi ${data.name}, open ${data.link}`,
    html: `<p>Hi ${escapeHtml(data.name)}, <a href="${escapeHtml(data.link)}">open</a></p>`,
  }),
} satisfies MailTemplates;

const ATTEMPTS = 3;
let dir: string;
let smtp: TestSmtpServer;
let handle: TestSubgraph;
let postbox: ModuleDefinition<Record<string, never>>;

interface Recorded {
  topic: string;
  payload: Record<string, unknown>;
}

/** The `kernel.mail.*` events the module recorded about `to`, in order. */
async function mailEvents(to: string): Promise<Recorded[]> {
  const rows = await handle.runtime
    .em()
    .execute<Recorded[]>(
      `select topic, payload from "${handle.runtime.db.schema}".outbox where topic like 'kernel.mail.%' and payload->>'to' = ? order by seq`,
      [to],
    );
  return rows;
}

const deliveredTo = async (to: string) => (await smtp.received()).filter((mail) => mail.envelope.to.includes(to));

const send = (to: string, options: { idempotencyKey?: string } = {}, runtime = handle.runtime) =>
  runtime.mail.send({
    to,
    template: 'welcome',
    data: { name: 'Zoë <3', link: `https://x.test/?token=${SECRET}` },
    ...options,
  });

/** Everything the job store holds of this module's jobs, as text (the queue table, or BullMQ's Redis keys). */
async function storedJobs(): Promise<string> {
  const { platform, db } = handle.runtime;
  if (kernelJobs(handle.runtime.jobs).backend === 'database') {
    const rows = await handle.runtime.em().execute(`select * from "${db.schema}".kernel_job`);
    return JSON.stringify(rows);
  }
  const redis = new Redis(platform.redis.url!);
  try {
    const keys = await redis.keys(`${platform.redis.keyPrefix}:jobs:postbox.*`);
    const values = await Promise.all(
      keys.map(async (key) => ((await redis.type(key)) === 'hash' ? redis.hgetall(key) : null)),
    );
    return JSON.stringify(values);
  } finally {
    redis.disconnect();
  }
}

async function jobState(id: string): Promise<string | undefined> {
  const report = await kernelJobs(handle.runtime.jobs).report();
  return report.dead.some((job) => job.id === id) ? 'dead' : undefined;
}

beforeAll(async () => {
  smtp = await startSmtpServer();
  dir = mkdtempSync(join(tmpdir(), 'postbox-module-'));
  writeFileSync(join(dir, 'module.yaml'), 'name: postbox\nversion: 0.1.0\nkernel: ^0.1.0\npermissions: []\n');
  postbox = defineModule({
    manifest: join(dir, 'module.yaml'),
    entities: [],
    migrations: [],
    resolvers: [PingResolver],
    rules: { Query: { ping: publicAccess } },
    mail: { templates },
  });
  handle = await startTestSubgraph(postbox, {
    permissions: new StaticPermissions({}),
    overrides: {
      services: { postbox: { port: 0, dbSchema: `t_${randomBytes(4).toString('hex')}_postbox` } },
      smtp: { url: smtp.url, attempts: ATTEMPTS, backoffMs: 50 },
      jobs: { pollIntervalMs: 50 },
    },
  });
}, 60_000);

afterAll(async () => {
  await handle?.stop();
  await smtp?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('runtime.mail', () => {
  it('delivers once after the server refused twice for now, and records the tries and the delivery', async () => {
    const to = 'twice@example.com';
    await smtp.refuse(2, 451);
    await send(to);
    await waitFor(async () => (await deliveredTo(to)).length === 1, 'the delivery');
    await waitFor(async () => (await mailEvents(to)).some((e) => e.topic === 'kernel.mail.sent'), 'kernel.mail.sent');

    const [mail] = await deliveredTo(to);
    expect(mail).toMatchObject({ subject: 'Welcome, Zoë <3', html: expect.stringContaining('Zoë &lt;3') });
    const events = await mailEvents(to);
    expect(events.map((e) => [e.topic, e.payload.attempt])).toEqual([
      ['kernel.mail.failed', 1],
      ['kernel.mail.failed', 2],
      ['kernel.mail.sent', 3],
    ]);
    expect(events[0]!.payload).toMatchObject({
      template: 'welcome',
      to,
      maxAttempts: ATTEMPTS,
      permanent: false,
      final: false,
      error: expect.stringContaining('451'),
    });
    // Every try carried the Message-ID chosen when the mail was queued.
    expect(new Set(events.map((e) => e.payload.messageId))).toEqual(new Set([mail!.messageId]));
    expect(events[2]!.payload).toMatchObject({ transport: 'smtp', jobId: expect.any(String) });
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect(JSON.stringify(events)).not.toContain('Welcome');
    // Nothing more arrives: the sent try was the last.
    expect(await deliveredTo(to)).toHaveLength(1);
  });

  it('is dead after the last try while the server refuses, and a retry delivers it once it accepts', async () => {
    const to = 'refused@example.com';
    await smtp.refuse('always', 451);
    const id = await send(to);
    await waitFor(async () => (await jobState(id)) === 'dead', 'the dead job');
    const events = await mailEvents(to);
    expect(events.map((e) => [e.topic, e.payload.attempt, e.payload.final])).toEqual([
      ['kernel.mail.failed', 1, false],
      ['kernel.mail.failed', 2, false],
      ['kernel.mail.failed', 3, true],
      ['kernel.mail.dead', 3, true],
    ]);
    const dead = (await kernelJobs(handle.runtime.jobs).report()).dead.find((job) => job.id === id);
    expect(dead).toMatchObject({ queue: 'postbox.kernel-mail', state: 'dead', attempts: ATTEMPTS });
    expect(dead!.lastError).toContain('451');
    expect(JSON.stringify(dead)).not.toContain(SECRET);
    expect(await deliveredTo(to)).toHaveLength(0);

    await smtp.refuse(0);
    expect(await kernelJobs(handle.runtime.jobs).retry(id)).toBe('retried');
    await waitFor(async () => (await deliveredTo(to)).length === 1, 'the delivery after the retry');
    await waitFor(async () => (await mailEvents(to)).some((e) => e.topic === 'kernel.mail.sent'), 'kernel.mail.sent');
    expect(await deliveredTo(to)).toHaveLength(1);
    expect(JSON.stringify(await mailEvents(to))).not.toContain(SECRET);
  });

  it('is dead at once when the server refuses the mail for good (5xx)', async () => {
    const to = 'permanent@example.com';
    await smtp.refuse(1, 550);
    const id = await send(to);
    await waitFor(async () => (await jobState(id)) === 'dead', 'the dead job');
    const events = await mailEvents(to);
    expect(events.map((e) => [e.topic, e.payload.attempt, e.payload.permanent])).toEqual([
      ['kernel.mail.failed', 1, true],
      ['kernel.mail.dead', 1, true],
    ]);
    expect(await smtp.attempts()).toBeGreaterThan(0);
    expect(await deliveredTo(to)).toHaveLength(0);
  });

  it('queues a mail with the same idempotency key once', async () => {
    const to = 'once@example.com';
    const key = `welcome:${to}`;
    const first = await send(to, { idempotencyKey: key });
    expect(await send(to, { idempotencyKey: key })).toBe(first);
    await waitFor(async () => (await mailEvents(to)).some((e) => e.topic === 'kernel.mail.sent'), 'kernel.mail.sent');
    expect(await deliveredTo(to)).toHaveLength(1);
  });

  it('keeps the data sealed in the job store, which holds only what the mail is about', async () => {
    expect(kernelJobs(handle.runtime.jobs).backend).toBe(process.env.REDIS_URL ? 'bullmq' : 'database');
    const stored = await storedJobs();
    expect(stored).toContain('once@example.com');
    expect(stored).toContain('welcome');
    expect(stored).not.toContain(SECRET);
    expect(stored).not.toContain('Zoë');
  });

  it('refuses at once a template the module has not, or data its template cannot render', async () => {
    await expect(handle.runtime.mail.send({ to: 'x@example.com', template: 'nope' })).rejects.toThrow(
      'no mail template "nope"',
    );
    await expect(handle.runtime.mail.send({ to: 'x@example.com', template: 'welcome' })).rejects.toThrow();
  });
});

describe('runtime.mail across a restart', () => {
  it('delivers a mail whose retry was pending when the process stopped, once the next one runs', async () => {
    const server = await startSmtpServer();
    const suffix = randomBytes(4).toString('hex');
    const { config, cleanup } = testConfig({
      services: { postbox: { port: 0, dbSchema: `t_${suffix}_postbox` } },
      // The retry waits 2 s: the process stops well before it is due.
      smtp: { url: server.url, attempts: 3, backoffMs: 2000 },
      jobs: { pollIntervalMs: 50 },
    });
    const options = { config, port: 0, permissions: new StaticPermissions({}) };
    const to = 'restart@example.com';
    let second: Awaited<ReturnType<typeof startSubgraph>> | undefined;
    try {
      await server.refuse('always', 451);
      const first = await startSubgraph(postbox, options);
      await send(to, {}, first.runtime);
      await waitFor(async () => (await server.attempts()) === 1, 'the first try');
      await first.stop();
      await server.refuse(0);

      second = await startSubgraph(postbox, options);
      const delivered = async () => (await server.received()).filter((mail) => mail.envelope.to.includes(to));
      await waitFor(async () => (await delivered()).length === 1, 'the delivery after the restart');
      expect(await server.attempts()).toBe(2);
    } finally {
      if (second) {
        await dropTestSchema(second.runtime.db);
        await second.stop();
      }
      await cleanup();
      await server.close();
    }
  }, 30_000);
});
