import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { runWithRequest } from '../http/request-context.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import { startTracing, tracer } from '../tracing/tracing.js';
import { createErrorBus } from './create.js';
import {
  ERROR_KINDS,
  ErrorBus,
  noteOperation,
  processErrorBus,
  settleError,
  type ErrorReport,
  type ErrorSink,
} from './error-bus.js';
import { logSink, metricSink } from './sinks.js';

/** A pino logger writing JSON lines into an array. */
function capturedLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info', base: { module: 'notes' } }, stream), lines };
}

/** A sink that keeps what it was given. */
function recording(): { sink: { name: string; capture(report: ErrorReport): void }; reports: ErrorReport[] } {
  const reports: ErrorReport[] = [];
  return { sink: { name: 'recording', capture: (report) => reports.push(report) }, reports };
}

const buses: ErrorBus[] = [];
function bus(...sinks: ErrorSink[]): ErrorBus {
  const created = new ErrorBus('notes', sinks);
  buses.push(created);
  return created;
}

let stopTracing: () => Promise<void>;
beforeAll(() => {
  stopTracing = startTracing({ tracing: { otlpEndpoint: null, sampleRatio: 1 } }, 'notes');
});
afterAll(async () => {
  await Promise.all(buses.map((created) => created.close(100)));
  await stopTracing();
});

describe('ErrorBus', () => {
  it('fills in the request, user, trace and operation of the path it is called on', () => {
    const { sink, reports } = recording();
    const errors = bus(sink);
    const error = new Error('boom');
    let traceId = '';
    runWithRequest({ requestId: 'req-1', userId: 'user-7' }, () => {
      noteOperation('PostsPage');
      tracer().startActiveSpan('op', (span) => {
        traceId = span.spanContext().traceId;
        errors.report(error, { kind: 'resolver', path: 'posts.0.title' });
        span.end();
      });
    });
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(reports).toEqual([
      expect.objectContaining({
        error,
        kind: 'resolver',
        module: 'notes',
        requestId: 'req-1',
        userId: 'user-7',
        traceId,
        spanId: expect.stringMatching(/^[0-9a-f]{16}$/),
        operation: 'PostsPage',
        path: 'posts.0.title',
        message: 'unexpected error (resolver)',
      }),
    ]);
  });

  it('lets what the caller knows win over the path (a job outside any request), and defaults the kind', () => {
    const { sink, reports } = recording();
    const errors = bus(sink);
    runWithRequest({ requestId: 'ambient' }, () =>
      errors.report(new Error('x'), { requestId: 'from-the-job', queue: 'notes.digest', extra: { size: 3 } }),
    );
    expect(reports[0]).toMatchObject({
      kind: 'background',
      requestId: 'from-the-job',
      queue: 'notes.digest',
      extra: { size: 3 },
    });
    expect(reports[0]).not.toHaveProperty('userId');
  });

  it('publishes an error once, however many layers see it (wrapped as originalError or cause)', () => {
    const { sink, reports } = recording();
    const errors = bus(sink);
    const cause = new Error('db down');
    expect(errors.report(cause)).toBe(true);
    expect(errors.report(new GraphQLError('wrapped', { originalError: cause }))).toBe(false);
    expect(errors.report(new Error('again', { cause }))).toBe(false);
    expect(errors.report(cause)).toBe(false);
    const expected = new Error('subgraph down');
    settleError(expected);
    expect(errors.report(expected)).toBe(false);
    expect(reports).toHaveLength(1);
  });

  it('hands the report to every sink even when one of them throws', () => {
    const { sink, reports } = recording();
    const errors = bus(
      {
        name: 'broken',
        capture() {
          throw new Error('sink down');
        },
      },
      sink,
    );
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      errors.report(new Error('boom'));
    } finally {
      process.stderr.write = stderr;
    }
    expect(reports).toHaveLength(1);
  });

  it('gives process failures to the service that reports the process metrics, else the oldest live one', async () => {
    const first = new ErrorBus('first');
    const owner = new ErrorBus('owner', [], () => true);
    expect(processErrorBus()).toBe(owner);
    await owner.close(10);
    expect(processErrorBus()?.module).not.toBe('owner');
    await first.close(10);
    expect(processErrorBus()).not.toBe(first);
  });
});

describe('log sink', () => {
  it('writes one error line with the error and every field of the report', () => {
    const { logger, lines } = capturedLogger();
    const errors = bus(logSink(logger));
    runWithRequest({ requestId: 'req-2', userId: 'u-1' }, () =>
      errors.report(new Error('secret detail'), {
        kind: 'job',
        message: 'job failed: will be retried',
        queue: 'notes.digest',
        jobId: 'j-1',
        attempt: 2,
        extra: { maxAttempts: 5, kind: 'not this one' },
      }),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      msg: 'job failed: will be retried',
      module: 'notes',
      kind: 'job',
      requestId: 'req-2',
      userId: 'u-1',
      queue: 'notes.digest',
      jobId: 'j-1',
      attempt: 2,
      maxAttempts: 5,
      err: { message: 'secret detail', type: 'Error' },
    });
  });
});

describe('metric sink', () => {
  it('starts every kind of the module at 0 and counts each report by module and kind', async () => {
    const registry = new Registry();
    const errors = bus(metricSink(registry, 'notes'));
    const zero = await registry.getSingleMetricAsString('errors_total');
    for (const kind of ERROR_KINDS) expect(zero).toContain(`errors_total{module="notes",kind="${kind}"} 0`);
    errors.report(new Error('a'), { kind: 'consumer' });
    errors.report(new Error('b'), { kind: 'consumer' });
    errors.report(new Error('c'), { kind: 'process' });
    const after = await registry.getSingleMetricAsString('errors_total');
    expect(after).toContain('errors_total{module="notes",kind="consumer"} 2');
    expect(after).toContain('errors_total{module="notes",kind="process"} 1');
    expect(after).toContain('errors_total{module="notes",kind="http"} 0');
  });

  it('shares one counter between the buses of one registry', () => {
    const registry = new Registry();
    metricSink(registry, 'notes');
    expect(() => metricSink(registry, 'notes')).not.toThrow();
  });
});

describe('createErrorBus', () => {
  it('logs and counts on the service registry, and loads no Sentry without a DSN', async () => {
    const metrics = new ServiceMetrics('notes');
    const { logger } = capturedLogger();
    const errors = await createErrorBus({
      config: {
        env: 'test',
        errors: { sentry: { dsn: null, environment: null, release: null, sampleRate: 1, flushTimeoutMs: 100 } },
      },
      module: 'notes',
      logger,
      metrics,
    });
    buses.push(errors);
    expect(errors.sinks).toEqual(['log', 'metric']);
    expect(await metrics.exposition()).toContain('errors_total{module="notes",kind="resolver",service="notes"} 0');
  });
});
