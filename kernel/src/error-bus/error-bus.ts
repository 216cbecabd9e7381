import { trace } from '@opentelemetry/api';
import { currentRequest, type RequestContext } from '../http/request-context.js';

/**
 * Where an unexpected error happened: a GraphQL resolver (masked as INTERNAL_SERVER_ERROR), an
 * HTTP route, a job's try, an event consumer's delivery, a subgraph call that failed in a way no
 * healthy subgraph fails (the gateway), the process itself (`uncaughtException`,
 * `unhandledRejection`), or background work a module reports itself.
 */
export const ERROR_KINDS = ['resolver', 'http', 'job', 'consumer', 'subgraph', 'process', 'background'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** What a module (or the kernel) knows about where an error happened, beside what the bus finds itself. */
export interface ErrorReportContext {
  /** Default `background`. */
  kind?: ErrorKind;
  /** The log line's message; default `unexpected error (<kind>)`. */
  message?: string;
  /** The GraphQL operation's name, when one was running. */
  operation?: string;
  /** A job's queue (`<module>.<queue>`), id and try. */
  queue?: string;
  jobId?: string;
  attempt?: number;
  /** An event's topic, id and consumer group. */
  topic?: string;
  eventId?: string;
  group?: string;
  /** The work was given up: a dead job, a dead-lettered event. */
  dead?: boolean;
  /** A GraphQL path, an HTTP path, a subgraph's name. */
  path?: string;
  subgraph?: string;
  /** Known from elsewhere (a job runs outside any request); otherwise taken from the request and span on this path. */
  requestId?: string;
  userId?: string;
  traceId?: string;
  /** Anything else worth having beside the error (kept small: it goes to the log and to Sentry). */
  extra?: Record<string, unknown>;
}

/** One published error: the error, and every field known about it. */
export interface ErrorReport extends Omit<ErrorReportContext, 'kind' | 'message'> {
  error: unknown;
  kind: ErrorKind;
  message: string;
  /** The service (module name, or `gateway`). */
  module: string;
  spanId?: string;
}

/** Where published errors go: the log, the `errors_total` metric, Sentry. */
export interface ErrorSink {
  readonly name: string;
  capture(report: ErrorReport): void;
  /** Sends what is buffered, within `timeoutMs`. */
  flush?(timeoutMs: number): Promise<void>;
  /** Flushes and lets go of the sink's resources. */
  close?(timeoutMs: number): Promise<void>;
}

/**
 * What a module uses (`runtime.errors`) to report an error it handled but did not expect — a
 * fallback it took, a retry loop it gave up — with the same context and sinks as the errors the
 * kernel publishes itself. Never throws.
 */
export interface ErrorReporter {
  /** @returns false when this error (or one it wraps) was published already: it is not published twice. */
  report(error: unknown, context?: ErrorReportContext): boolean;
}

/** The GraphQL operation each request runs, noted by the Apollo plugin (a request has one). */
const operations = new WeakMap<RequestContext, string>();

/** Notes the operation the current request runs, so errors published on its path name it. */
export function noteOperation(name: string | null | undefined): void {
  const request = currentRequest();
  if (request && name) operations.set(request, name);
}

/** Errors already published (or deliberately not) anywhere in this process: each is published once. */
const settled = new WeakSet<object>();

/**
 * Marks an error as dealt with without publishing it: an expected failure (a subgraph that is
 * down) logged where it happened, so a layer that later masks it does not publish it again.
 */
export function settleError(error: unknown): void {
  if (typeof error === 'object' && error !== null) settled.add(error);
}

/** Whether the error, or one it wraps (`originalError`, `cause`), was published or settled already. */
export function isSettled(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 6; depth++) {
    if (settled.has(current)) return true;
    const { originalError, cause } = current as { originalError?: unknown; cause?: unknown };
    current = originalError ?? cause;
  }
  return false;
}

/** Live buses, oldest first: the process's own failures go to one of them (see {@link processErrorBus}). */
const live: ErrorBus[] = [];

/**
 * One service's error bus: every unexpected error goes through `report`, which fills in the
 * request id, user id, trace and operation on its async path and hands the report to each sink
 * (a failing sink never hides the error from the others). An error object is published once,
 * however many layers see it.
 */
export class ErrorBus implements ErrorReporter {
  readonly #sinks: ErrorSink[] = [];
  #closed: Promise<void> | undefined;

  constructor(
    readonly module: string,
    sinks: readonly ErrorSink[] = [],
    /** Whether this service reports the process's own metrics (the one that should also report its failures). */
    readonly ownsProcess: () => boolean = () => false,
  ) {
    this.#sinks.push(...sinks);
    live.push(this);
  }

  /** Adds a sink (Sentry, once its SDK has loaded). */
  addSink(sink: ErrorSink): void {
    this.#sinks.push(sink);
  }

  get sinks(): readonly string[] {
    return this.#sinks.map((sink) => sink.name);
  }

  report(error: unknown, context: ErrorReportContext = {}): boolean {
    if (isSettled(error)) return false;
    settleError(error);
    const report = this.#complete(error, context);
    for (const sink of this.#sinks) {
      try {
        sink.capture(report);
      } catch (failure) {
        // A sink must never take the error down with it; the log sink (first) has it already.
        process.stderr.write(`error sink ${sink.name} failed: ${String(failure)}\n`);
      }
    }
    return true;
  }

  /** Sends what the sinks buffer (Sentry's queue), within `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    await Promise.all(this.#sinks.map((sink) => sink.flush?.(timeoutMs).catch(() => undefined)));
  }

  /** Flushes and closes the sinks (last in a service's teardown). Idempotent. */
  close(timeoutMs: number): Promise<void> {
    this.#closed ??= (async () => {
      const index = live.indexOf(this);
      if (index >= 0) live.splice(index, 1);
      await Promise.all(this.#sinks.map((sink) => sink.close?.(timeoutMs).catch(() => undefined)));
    })();
    return this.#closed;
  }

  #complete(error: unknown, context: ErrorReportContext): ErrorReport {
    const { kind = 'background', message, extra, ...known } = context;
    const request = currentRequest();
    const span = trace.getActiveSpan()?.spanContext();
    const traced = span && !/^0+$/.test(span.traceId) ? span : undefined;
    const operation = known.operation ?? (request ? operations.get(request) : undefined);
    return {
      ...definedOnly({
        requestId: request?.requestId,
        userId: request?.userId,
        traceId: traced?.traceId,
        spanId: traced?.spanId,
        operation,
      }),
      ...definedOnly(known),
      ...(extra && Object.keys(extra).length > 0 ? { extra } : {}),
      error,
      kind,
      message: message ?? `unexpected error (${kind})`,
      module: this.module,
    };
  }
}

function definedOnly<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/**
 * The bus the process's own failures go to: the service that reports the process's metrics
 * (`ServiceMetrics.claimProcessMetrics`), else the oldest one still running; undefined when no
 * service runs (yet).
 */
export function processErrorBus(): ErrorBus | undefined {
  return live.find((bus) => bus.ownsProcess()) ?? live[0];
}

/** Every live bus (a process-level failure flushes them all before the process exits). */
export function liveErrorBuses(): readonly ErrorBus[] {
  return [...live];
}
