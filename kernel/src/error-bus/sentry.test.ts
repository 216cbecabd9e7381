// The error bus of a real subgraph against a local HTTP receiver posing as Sentry's ingest: a
// resolver that throws, a job that dies and a consumer that gives up arrive as Sentry events with the kernel's context.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Query, Resolver } from 'type-graphql';
import { StaticPermissions } from '../graphql/permissions.js';
import { publicAccess } from '../graphql/rules.js';
import { defineModule } from '../module/define.js';
import { createEvent, startTestSubgraph, type TestSubgraph } from '../testing/index.js';
import { SentryReceiver } from './__tests__/sentry-receiver.js';

@Resolver()
class FaultsResolver {
  @Query(() => String)
  explode(): string {
    throw new Error('resolver exploded: connection pool exhausted');
  }

  @Query(() => String)
  fine(): string {
    return 'ok';
  }
}

const TRACE_ID = randomBytes(16).toString('hex');
const PARENT_SPAN = randomBytes(8).toString('hex');

describe('the error bus with Sentry (a local ingest)', () => {
  let dir: string;
  let receiver: SentryReceiver;
  let handle: TestSubgraph;

  beforeAll(async () => {
    receiver = await SentryReceiver.start();
    dir = mkdtempSync(join(tmpdir(), 'error-bus-'));
    writeFileSync(join(dir, 'module.yaml'), 'name: faults\nversion: 0.1.0\nkernel: ^0.1.0\n');
    const faults = defineModule({
      manifest: join(dir, 'module.yaml'),
      entities: [],
      migrations: [],
      resolvers: [FaultsResolver],
      rules: { Query: { explode: publicAccess, fine: publicAccess } },
      consumers: [
        {
          topic: 'ledger.entry.posted',
          group: 'faults.ledger-entries',
          maxAttempts: 1,
          async handler(event) {
            throw new Error(`cannot book ${String(event.payload.amount)}`);
          },
        },
      ],
      jobs: {
        crunch: {
          attempts: 1,
          async handler(payload: { size: number }) {
            throw new TypeError(`cannot crunch ${payload.size} rows`);
          },
        },
      },
    });
    handle = await startTestSubgraph(faults, {
      permissions: new StaticPermissions({}),
      // The caller's id as a real token verifier would give it.
      authenticate: (req) => {
        const id = req.headers['x-test-user'];
        return typeof id === 'string' ? { id } : undefined;
      },
      overrides: {
        errors: { sentry: { dsn: receiver.dsn, environment: 'ci', release: 'faults@0.1.0' } },
        jobs: { pollIntervalMs: 50 },
        services: { faults: { port: 0, dbSchema: `t_${randomBytes(4).toString('hex')}_faults` } },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await handle?.stop();
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('sends a masked resolver error with the message, module, request id, trace id, user id and operation', async () => {
    const { status, body } = await handle.query('query Explode { explode }', undefined, {
      'x-request-id': 'req-sentry-1',
      'x-test-user': 'user-42',
      traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01`,
    });
    // The client still sees only the masked error.
    expect(status).toBe(200);
    expect(body.errors).toEqual([
      {
        message: 'Internal server error',
        path: ['explode'],
        extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-sentry-1' },
      },
    ]);

    const event = await receiver.waitForEvent((e) => e.tags?.requestId === 'req-sentry-1');
    expect(event.exception?.values?.[0]).toMatchObject({
      type: 'Error',
      value: 'resolver exploded: connection pool exhausted',
    });
    // Stack frames are parsed, down to this file's resolver.
    const frames = event.exception?.values?.[0]?.stacktrace?.frames ?? [];
    expect(frames.some((frame) => frame.filename?.endsWith('sentry.test.ts'))).toBe(true);
    expect(event.tags).toMatchObject({
      module: 'faults',
      kind: 'resolver',
      requestId: 'req-sentry-1',
      traceId: TRACE_ID,
      operation: 'Explode',
    });
    expect(event.user).toEqual({ id: 'user-42' });
    expect(event.contexts?.trace?.trace_id).toBe(TRACE_ID);
    expect(event.extra).toMatchObject({ path: 'explode' });
    expect(event).toMatchObject({ level: 'error', environment: 'ci', release: 'faults@0.1.0' });

    const metrics = await (await fetch(`${handle.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/errors_total\{module="faults",kind="resolver"[^}]*\} 1/);
    expect(metrics).toMatch(/errors_total\{module="faults",kind="job"[^}]*\} 0/);
  });

  it('sends a dead job with kind job, its queue and the try', async () => {
    const id = await handle.runtime.jobs.enqueue('crunch', { size: 3 });
    const event = await receiver.waitForEvent((e) => e.tags?.kind === 'job');
    expect(event.exception?.values?.[0]).toMatchObject({ type: 'TypeError', value: 'cannot crunch 3 rows' });
    expect(event.tags).toMatchObject({ module: 'faults', kind: 'job', queue: 'faults.crunch' });
    expect(event.extra).toMatchObject({ jobId: id, attempt: 1, dead: true, maxAttempts: 1 });
  });

  it('sends a dead-lettered event with kind consumer, its topic and group, and who caused it', async () => {
    const event = createEvent(
      'ledger',
      'ledger.entry.posted',
      { amount: 12 },
      {
        requestId: 'req-ledger-9',
        actorId: 'user-9',
        traceId: TRACE_ID,
      },
    );
    await handle.runtime.bus.publish(event);
    const received = await receiver.waitForEvent((e) => e.tags?.kind === 'consumer');
    expect(received.exception?.values?.[0]).toMatchObject({ type: 'Error', value: 'cannot book 12' });
    expect(received.tags).toMatchObject({
      module: 'faults',
      kind: 'consumer',
      topic: 'ledger.entry.posted',
      requestId: 'req-ledger-9',
      traceId: TRACE_ID,
    });
    expect(received.user).toEqual({ id: 'user-9' });
    expect(received.extra).toMatchObject({ eventId: event.id, group: 'faults.ledger-entries', attempt: 1, dead: true });
  });

  it('sends nothing for an operation that succeeds, and nothing but envelopes to the DSN', async () => {
    const before = receiver.events.length;
    expect((await handle.query('{ fine }')).body).toEqual({ data: { fine: 'ok' } });
    await handle.errors.flush(2000);
    expect(receiver.events).toHaveLength(before);
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const request of receiver.requests) {
      expect(request).toEqual({ method: 'POST', url: expect.stringMatching(/^\/api\/1\/envelope\/\?/) });
    }
  });
});
