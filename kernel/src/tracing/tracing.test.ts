import { afterEach, describe, expect, it } from '@jest/globals';
import { context, propagation, trace } from '@opentelemetry/api';
import { startTracing, tracer } from './tracing.js';

describe('tracing without an exporter', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
  });

  it('records nothing, yet gives every span a real trace id that propagates downstream', () => {
    stop = startTracing({ tracing: { otlpEndpoint: null, sampleRatio: 1 } }, 'tracing-test');
    const root = tracer().startSpan('request');
    expect(root.isRecording()).toBe(false);
    const { traceId, spanId } = root.spanContext();
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe('0'.repeat(32));

    const headers: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), root), headers);
    expect(headers.traceparent).toBe(`00-${traceId}-${spanId}-00`);

    const child = tracer().startSpan('query', {}, trace.setSpan(context.active(), root));
    expect(child.spanContext().traceId).toBe(traceId);
    child.end();
    root.end();
  });
});
