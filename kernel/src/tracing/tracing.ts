import { randomUUID } from 'node:crypto';
import {
  context,
  createContextKey,
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
  type ReadableSpan,
  type Sampler,
  type Span as SdkSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
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

/** Marks a context (and every span started in it) as one service's. */
const SERVICE_NAME = createContextKey('platform service.name');

/** A context whose spans belong to `service`: their resource's `service.name`. */
export function inService(ctx: Context, service: string): Context {
  return ctx.setValue(SERVICE_NAME, service);
}

/**
 * Runs `fn` as `service`'s: spans started inside it, and later from timers, sockets and
 * callbacks it sets up (the context follows them), carry that service's `service.name`.
 */
export function runAsService<T>(service: string, fn: () => T): T {
  return context.with(inService(context.active(), service), fn);
}

/** One process, whatever runs in it: `service.instance.id` tells instances of a service apart. */
const INSTANCE_ID = randomUUID();

/**
 * Several services may share a process (`npm start`, tests), but OpenTelemetry has one tracer
 * provider, with one resource, per process. This processor gives each span the resource of the
 * service whose context started it (see {@link inService}), so every service's spans are
 * exported under its own `service.name`, and a span's parent may be another service's.
 */
class ServiceResources implements SpanProcessor {
  readonly #services = new WeakMap<object, string>();
  readonly #resources = new Map<string, Resource>();

  constructor(
    private readonly inner: SpanProcessor,
    private readonly fallback: () => string,
  ) {}

  /** The service a span belongs to: its context's, else the process's first service. */
  static serviceOf(ctx: Context, fallback: string): string {
    const name = ctx.getValue(SERVICE_NAME);
    return typeof name === 'string' ? name : fallback;
  }

  onStart(span: SdkSpan, parentContext: Context): void {
    this.#services.set(span, ServiceResources.serviceOf(parentContext, this.fallback()));
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    const service = this.#services.get(span) ?? this.fallback();
    // The span as ended, seen with its service's resource (one object per service, so exporters
    // group each service's spans together).
    this.inner.onEnd(Object.create(span, { resource: { value: this.#resourceOf(service) } }) as ReadableSpan);
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  #resourceOf(service: string): Resource {
    let resource = this.#resources.get(service);
    if (!resource) {
      resource = resourceFromAttributes({ 'service.name': service, 'service.instance.id': INSTANCE_ID });
      this.#resources.set(service, resource);
    }
    return resource;
  }
}

let sdk: NodeSDK | undefined;
let users = 0;
/** The first service that started tracing in this process: spans outside any service's context are its. */
let firstService = 'platform';

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
    firstService = serviceName;
    const exporting = Boolean(config.tracing.otlpEndpoint);
    const processors: SpanProcessor[] = exporting
      ? [
          new ServiceResources(
            new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracing.otlpEndpoint! })),
            () => firstService,
          ),
        ]
      : [new NoExportSpanProcessor()];
    const sampler: Sampler = exporting
      ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.tracing.sampleRatio) })
      : new AlwaysOffSampler();
    sdk = new NodeSDK({
      resource: resourceFromAttributes({ 'service.name': serviceName, 'service.instance.id': INSTANCE_ID }),
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
