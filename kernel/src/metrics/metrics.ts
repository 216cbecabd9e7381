import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OperationLimit } from '../errors.js';

const MAX_OPERATION_NAMES = 200;

/**
 * prom-client's default gauges that carry a counter's `_total` suffix, which `promtool check
 * metrics` flags (a gauge named like a counter makes `rate()` on it look right and be wrong).
 * Each is the sum of the labelled gauge of the same stem (`nodejs_active_handles{type}`, …), which
 * stays: `sum without (type) (nodejs_active_handles)` answers what they did.
 */
export const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MAX_ERROR_CODES = 50;
/** Why a request is refused before any work: each operation limit, or a rate budget used up. */
const REFUSAL_REASONS: ReadonlyArray<OperationLimit | 'rate_limited'> = [
  'depth',
  'aliases',
  'rootFields',
  'directives',
  'tokens',
  'cost',
  'rate_limited',
];
/** The dependencies whose failed calls `dependency_errors_total` counts. */
const DEPENDENCIES = ['redis', 'identity', 'authz'] as const;
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** The process's own metrics (`process_*`, `nodejs_*`), collected once however many services it runs. */
let processRegistry: Registry | undefined;
/** The service whose `/metrics` reports them: the first of the process to serve, until it stops. */
let processOwner: ServiceMetrics | undefined;

/**
 * The Prometheus metrics of one service, in its own registry (several services may share a
 * process in development and tests). The process's own metrics are reported by one service of
 * the process only (see {@link ServiceMetrics.claimProcessMetrics}): five services in one
 * `npm start` process are one process, not five.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly graphqlOperations: Counter<'operation_name' | 'operation_type' | 'outcome'>;
  readonly graphqlDuration: Histogram<'operation_type' | 'outcome'>;
  readonly dbQueryDuration: Histogram<'operation' | 'source'>;
  /** Requests refused before any work: an operation limit, or a rate budget used up. */
  readonly refusals: Counter<'reason'>;
  /** Calls to service-only routes without the right service credential. */
  readonly credentialRefusals: Counter<'route'>;
  /** Failed calls to a dependency (redis, authz, identity) on a request or background path. */
  readonly dependencyErrors: Counter<'dependency'>;
  /** Reads of `runtime.cache` by module and result: hit, miss (loaded or absent), error (Redis failed; answered without it). */
  readonly cacheRequests: Counter<'namespace' | 'result'>;
  /** Errors of GraphQL responses, by the `extensions.code` the client saw and the operation's name. */
  readonly graphqlErrors: Counter<'operation_name' | 'code'>;
  readonly #operationNames = new Set<string>();
  readonly #errorCodes = new Set<string>();

  constructor(readonly service: string) {
    this.registry.setDefaultLabels({ service });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.graphqlOperations = new Counter({
      name: 'graphql_operations_total',
      help: 'GraphQL operations by name, type and outcome (success, error, invalid)',
      labelNames: ['operation_name', 'operation_type', 'outcome'],
      registers: [this.registry],
    });
    this.graphqlDuration = new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operation duration by type and outcome',
      labelNames: ['operation_type', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.graphqlErrors = new Counter({
      name: 'graphql_errors_total',
      help: 'Errors in GraphQL responses by operation name and error code (extensions.code as the client saw it)',
      labelNames: ['operation_name', 'code'],
      registers: [this.registry],
    });
    this.refusals = new Counter({
      name: 'graphql_requests_refused_total',
      help: 'Requests refused before any work, by reason: an operation limit (depth, aliases, rootFields, directives, tokens, cost) or rate_limited',
      labelNames: ['reason'],
      registers: [this.registry],
    });
    this.credentialRefusals = new Counter({
      name: 'service_credential_refusals_total',
      help: 'Calls to service-only routes (internal, _service, /metrics) refused for a missing or wrong service credential',
      labelNames: ['route'],
      registers: [this.registry],
    });
    this.dependencyErrors = new Counter({
      name: 'dependency_errors_total',
      help: 'Failed calls to a dependency (redis, authz, identity), on a request or background path',
      labelNames: ['dependency'],
      registers: [this.registry],
    });
    this.cacheRequests = new Counter({
      name: 'cache_requests_total',
      help: 'Reads of a module cache by namespace and result: hit, miss, or error (Redis failed and the read was answered without it)',
      labelNames: ['namespace', 'result'],
      registers: [this.registry],
    });
    // Known label sets start at 0: a dashboard or an alert sees the series before the first event.
    for (const reason of REFUSAL_REASONS) this.refusals.inc({ reason }, 0);
    for (const dependency of DEPENDENCIES) this.dependencyErrors.inc({ dependency }, 0);
    this.dbQueryDuration = new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Database statement duration by statement kind, for client requests, internal calls between services, or background work (outbox, jobs)',
      labelNames: ['operation', 'source'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers: [this.registry],
    });
  }

  /**
   * Operation names come from clients: keep label cardinality bounded by accepting only
   * well-formed names and at most MAX_OPERATION_NAMES distinct ones.
   */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'invalid';
    if (this.#operationNames.has(name)) return name;
    if (this.#operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.#operationNames.add(name);
    return name;
  }

  /**
   * Counts the errors of one response by code. Codes are meant to be a small set of constants,
   * but a subgraph's answer passes through the gateway: anything not shaped like one is `invalid`,
   * past MAX_ERROR_CODES distinct ones `other`, and an error without one `none`.
   */
  countErrors(operationName: string | null | undefined, codes: ReadonlyArray<unknown>): void {
    if (codes.length === 0) return;
    const operation_name = this.operationLabel(operationName);
    for (const code of codes) {
      let label: string;
      if (code === undefined || code === null) label = 'none';
      else if (typeof code !== 'string' || !ERROR_CODE.test(code)) label = 'invalid';
      else if (this.#errorCodes.has(code) || this.#errorCodes.size < MAX_ERROR_CODES) {
        this.#errorCodes.add(code);
        label = code;
      } else label = 'other';
      this.graphqlErrors.inc({ operation_name, code: label });
    }
  }

  /**
   * Makes this service the one reporting the process's own metrics, unless another service of
   * the process already does (a service serving `/metrics` calls it when it starts).
   */
  claimProcessMetrics(): void {
    if (processOwner) return;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the process-wide owner is a service
    processOwner = this;
    if (!processRegistry) {
      processRegistry = new Registry();
      collectDefaultMetrics({ register: processRegistry });
      for (const name of MISNAMED_DEFAULT_METRICS) processRegistry.removeSingleMetric(name);
    }
    processRegistry.setDefaultLabels({ service: this.service });
  }

  /** Hands the process's metrics on to the next service that claims them (called when this one stops). */
  releaseProcessMetrics(): void {
    if (processOwner === this) processOwner = undefined;
  }

  /** Whether this service's `/metrics` reports the process's own metrics. */
  get reportsProcessMetrics(): boolean {
    return processOwner === this;
  }

  /** The text `/metrics` answers: this service's metrics, and the process's when it reports them. */
  async exposition(): Promise<string> {
    const own = await this.registry.metrics();
    return processOwner === this && processRegistry ? `${await processRegistry.metrics()}${own}` : own;
  }

  /**
   * Records one SQL statement; the kind is its first keyword (select, insert, ...). `source`:
   * a client's request, another service's call to an internal route (revocation reads every
   * few seconds), or background work (relays, timers).
   */
  observeQuery(sql: string, seconds: number, source: 'request' | 'internal' | 'background' = 'request'): void {
    const keyword = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? 'other';
    const operation = ['select', 'insert', 'update', 'delete', 'begin', 'commit', 'rollback', 'with'].includes(keyword)
      ? keyword
      : 'other';
    this.dbQueryDuration.observe({ operation, source }, seconds);
  }
}
