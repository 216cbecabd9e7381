import {
  context,
  propagation,
  trace,
  SpanKind,
  SpanStatusCode,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { PlatformConfig } from '../config/schema.js';

/**
 * Exports nothing. Without any span processor the SDK registers no tracer provider at all, and
 * the API's no-op tracer gives root spans an all-zero trace id: this one keeps a provider (so
 * trace ids in logs and `traceparent` propagation) when no exporter is configured.
 */
class NoExportSpanProcessor implements SpanProcessor {
  onStart(): void {}
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

let sdk: NodeSDK | undefined;
let users = 0;

/**
 * Starts OpenTelemetry once per process (several services may share a process in
 * development and tests). Spans always exist, so trace ids reach logs, audit records and
 * downstream calls (`traceparent`). They are recorded and exported only when
 * `tracing.otlpEndpoint` is set; without it every span is a non-recording one (ids, no
 * attributes or timings), since recording what nobody exports cost ~17 % of the gateway's CPU
 * per request in the benchmark's profile. No resource detectors run (they would probe cloud
 * metadata addresses).
 */
export function startTracing(config: Pick<PlatformConfig, 'tracing'>, serviceName: string): () => Promise<void> {
  users++;
  if (!sdk) {
    const exporting = Boolean(config.tracing.otlpEndpoint);
    const processors: SpanProcessor[] = exporting
      ? [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracing.otlpEndpoint! }))]
      : [new NoExportSpanProcessor()];
    const sampler: Sampler = exporting
      ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.tracing.sampleRatio) })
      : new AlwaysOffSampler();
    sdk = new NodeSDK({
      resource: resourceFromAttributes({ 'service.name': serviceName }),
      autoDetectResources: false,
      spanProcessors: processors,
      metricReaders: [],
      logRecordProcessors: [],
      instrumentations: [],
      sampler,
      textMapPropagator: new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
    });
    sdk.start();
  }
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    users--;
    if (users === 0 && sdk) {
      const current = sdk;
      sdk = undefined;
      await current.shutdown();
    }
  };
}

export function tracer(): Tracer {
  return trace.getTracer('@platform/kernel');
}

/** The context carried by incoming `traceparent`/`baggage` headers. */
export function extractContext(headers: Record<string, string | string[] | undefined>): Context {
  return propagation.extract(context.active(), headers);
}

/** Writes `traceparent` (and `baggage`) for the active context into outgoing headers. */
export function injectTraceHeaders(
  headers: Record<string, string>,
  ctx: Context = context.active(),
): Record<string, string> {
  propagation.inject(ctx, headers);
  return headers;
}

/** The active trace id, if a sampled or unsampled span is active. */
export function activeTraceId(): string | undefined {
  const id = trace.getActiveSpan()?.spanContext().traceId;
  return id && !/^0+$/.test(id) ? id : undefined;
}

/** Runs `fn` inside a child span, recording failures on it. */
export async function withSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return tracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

export { SpanKind, SpanStatusCode, context, trace };
