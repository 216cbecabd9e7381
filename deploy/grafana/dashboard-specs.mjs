/**
 * The Grafana dashboards as compact definitions: panels as PromQL over the metrics the services
 * export (docs/operations.md lists them). generate-dashboards.mjs turns them into
 * deploy/grafana/dashboards/*.json; edit here, then run it.
 *
 * Every panel's expressions filter on the dashboard variables `$job` and `$instance` (the
 * Prometheus scrape job and target) through `SEL`; `$__rate_interval` is Grafana's.
 * test/system/prometheus.system.test.ts evaluates every expression against a real Prometheus
 * scraping the running services, so no panel points at a metric that does not exist.
 */
const SEL = 'job=~"$job", instance=~"$instance"';
const RATE = '[$__rate_interval]';

/** A time-series panel: `targets` as [expr, legend]; `unit` a Grafana unit. */
const ts = (title, description, unit, targets, options = {}) => ({
  type: 'timeseries',
  title,
  description,
  unit,
  targets,
  ...options,
});
/** A stat panel (current value of each series). */
const stat = (title, description, unit, targets, options = {}) => ({
  type: 'stat',
  title,
  description,
  unit,
  targets,
  ...options,
});
const p95 = (metric, by, extra = '') =>
  `histogram_quantile(0.95, sum by (${by}, le) (rate(${metric}_bucket{${SEL}${extra}}${RATE})))`;

export const DASHBOARDS = [
  {
    uid: 'platform-overview',
    title: 'Platform overview',
    description:
      'Every service at a glance: up, ready, traffic, server errors, latency, unexpected errors, outbox lag, resources.',
    panels: [
      stat(
        'Targets up',
        'Whether Prometheus scrapes each service (1) or not (0).',
        'none',
        [[`up{${SEL}}`, '{{service}} {{instance}}']],
        {
          thresholds: [
            ['red', null],
            ['green', 1],
          ],
          w: 24,
          h: 4,
        },
      ),
      stat(
        'Dependencies ready',
        "Each dependency's readiness check as each service sees it (1 ready, 0 failing): database, redis, subgraphs, JWKS.",
        'none',
        [[`min by (service, dependency) (dependency_up{${SEL}})`, '{{service}} → {{dependency}}']],
        {
          thresholds: [
            ['red', null],
            ['green', 1],
          ],
          w: 24,
          h: 7,
        },
      ),
      ts('HTTP requests', 'Requests a second, by service.', 'reqps', [
        [`sum by (service) (rate(http_request_duration_seconds_count{${SEL}}${RATE}))`, '{{service}}'],
      ]),
      ts(
        'HTTP server errors',
        'Share of HTTP requests answered with a 5xx, by service (alert: PlatformHttpServerErrors).',
        'percentunit',
        [
          [
            `sum by (service) (rate(http_request_duration_seconds_count{${SEL}, status=~"5.."}${RATE})) / sum by (service) (rate(http_request_duration_seconds_count{${SEL}}${RATE}))`,
            '{{service}}',
          ],
        ],
      ),
      ts(
        'GraphQL p95',
        '95th percentile of query and mutation durations, by service (alert: PlatformGraphQLLatency).',
        's',
        [[p95('graphql_operation_duration_seconds', 'service', ', operation_type!="subscription"'), '{{service}}']],
      ),
      ts(
        'Unexpected errors',
        'Errors published on the error bus, a second, by module and kind (alert: PlatformUnexpectedErrors).',
        'ops',
        [[`sum by (module, kind) (rate(errors_total{${SEL}}${RATE}))`, '{{module}} {{kind}}']],
      ),
      ts('Outbox lag', 'Age of the oldest event not yet published, by service (alert: PlatformOutboxLag).', 's', [
        [`max by (service) (outbox_oldest_pending_seconds{${SEL}})`, '{{service}}'],
      ]),
      ts(
        'Resident memory',
        'Memory of each process (in development one process runs every service: one series).',
        'bytes',
        [[`process_resident_memory_bytes{${SEL}}`, '{{service}} {{instance}}']],
      ),
      ts('CPU', 'CPU seconds a second of each process.', 'percentunit', [
        [`rate(process_cpu_seconds_total{${SEL}}${RATE})`, '{{service}} {{instance}}'],
      ]),
      ts('Event loop lag p99', 'How late the event loop runs timers: above ~100 ms the process is saturated.', 's', [
        [`nodejs_eventloop_lag_p99_seconds{${SEL}}`, '{{service}} {{instance}}'],
      ]),
    ],
  },
  {
    uid: 'platform-graphql',
    title: 'Platform: HTTP and GraphQL operations',
    description: 'Operations by name, outcome and error code; refused requests; HTTP routes and statuses.',
    panels: [
      ts(
        'Operations by name',
        'GraphQL operations a second by operation name and outcome (success, error, invalid).',
        'ops',
        [
          [
            `sum by (operation_name, outcome) (rate(graphql_operations_total{${SEL}}${RATE}))`,
            '{{operation_name}} {{outcome}}',
          ],
        ],
      ),
      ts('Errors by code', 'Errors in GraphQL answers a second, by extensions.code as clients saw them.', 'ops', [
        [`sum by (code) (rate(graphql_errors_total{${SEL}}${RATE}))`, '{{code}}'],
      ]),
      ts('Errors by operation and code', 'Which operations fail, and how.', 'ops', [
        [`sum by (operation_name, code) (rate(graphql_errors_total{${SEL}}${RATE}))`, '{{operation_name}} {{code}}'],
      ]),
      ts(
        'Refused requests',
        'Requests refused before any work: an operation limit (depth, aliases, cost, …) or rate_limited.',
        'ops',
        [[`sum by (service, reason) (rate(graphql_requests_refused_total{${SEL}}${RATE}))`, '{{service}} {{reason}}']],
      ),
      ts(
        'Operation duration',
        'Percentiles of GraphQL operation durations by type (subscriptions: how long they stayed open).',
        's',
        [
          [p95('graphql_operation_duration_seconds', 'operation_type'), 'p95 {{operation_type}}'],
          [
            `histogram_quantile(0.5, sum by (operation_type, le) (rate(graphql_operation_duration_seconds_bucket{${SEL}}${RATE})))`,
            'p50 {{operation_type}}',
          ],
        ],
      ),
      ts('HTTP requests by route and status', 'Requests a second.', 'reqps', [
        [
          `sum by (service, route, status) (rate(http_request_duration_seconds_count{${SEL}}${RATE}))`,
          '{{service}} {{route}} {{status}}',
        ],
      ]),
      ts('HTTP p95 by route', '95th percentile of HTTP request durations.', 's', [
        [p95('http_request_duration_seconds', 'service, route'), '{{service}} {{route}}'],
      ]),
    ],
  },
  {
    uid: 'platform-subgraphs',
    title: 'Platform: subgraph fetches',
    description: "The gateway's calls to each subgraph, and each subgraph's view of them.",
    panels: [
      ts(
        'Fetches by subgraph and status',
        "The gateway's HTTP calls a second to each subgraph, by HTTP status (error: no answer).",
        'reqps',
        [
          [
            `sum by (subgraph, status) (rate(subgraph_fetch_duration_seconds_count{${SEL}}${RATE}))`,
            '{{subgraph}} {{status}}',
          ],
        ],
      ),
      ts('Fetch p95 by subgraph', 'As the gateway measures it, network included.', 's', [
        [p95('subgraph_fetch_duration_seconds', 'subgraph'), '{{subgraph}}'],
      ]),
      ts('Failed fetches', 'Calls that got no 200: a subgraph down, overloaded or refusing.', 'reqps', [
        [
          `sum by (subgraph, status) (rate(subgraph_fetch_duration_seconds_count{${SEL}, status!="200"}${RATE}))`,
          '{{subgraph}} {{status}}',
        ],
      ]),
      ts('Subgraph /graphql p95', "Each subgraph's own duration of its /graphql requests.", 's', [
        [p95('http_request_duration_seconds', 'service', ', route="/graphql"'), '{{service}}'],
      ]),
      stat(
        'Gateway readiness checks',
        "The gateway's readiness check of each subgraph and of the key set (1 ready).",
        'none',
        [[`min by (dependency) (dependency_up{${SEL}, service="gateway"})`, '{{dependency}}']],
        {
          thresholds: [
            ['red', null],
            ['green', 1],
          ],
          h: 6,
        },
      ),
    ],
  },
  {
    uid: 'platform-database',
    title: 'Platform: database and cache',
    description: "Each module's SQL statements (its own schema), readiness check latency and module cache.",
    panels: [
      ts('Statements by service and kind', 'SQL statements a second (select, insert, …).', 'ops', [
        [
          `sum by (service, operation) (rate(db_query_duration_seconds_count{${SEL}}${RATE}))`,
          '{{service}} {{operation}}',
        ],
      ]),
      ts(
        'Statements by source',
        "Who asked: a client's request, another service's internal call, or background work (outbox, jobs).",
        'ops',
        [[`sum by (service, source) (rate(db_query_duration_seconds_count{${SEL}}${RATE}))`, '{{service}} {{source}}']],
      ),
      ts('Statement p95', '95th percentile of statement durations by service.', 's', [
        [p95('db_query_duration_seconds', 'service'), '{{service}}'],
      ]),
      ts('Database check latency', "How long the readiness check's `select 1` took.", 's', [
        [`dependency_check_seconds{${SEL}, dependency="database"}`, '{{service}}'],
      ]),
      ts(
        'Cache reads',
        'Module cache reads a second by namespace and result (hit, miss, error: answered without Redis).',
        'ops',
        [[`sum by (namespace, result) (rate(cache_requests_total{${SEL}}${RATE}))`, '{{namespace}} {{result}}']],
      ),
    ],
  },
  {
    uid: 'platform-events',
    title: 'Platform: event bus and outbox',
    description: 'Events published from each outbox, what waits in it, and failures reaching Redis.',
    panels: [
      ts('Events published by topic', 'Events a second that outbox relays published to the bus.', 'ops', [
        [`sum by (topic) (rate(events_published_total{${SEL}}${RATE}))`, '{{topic}}'],
      ]),
      ts('Outbox pending', 'Events recorded and not yet published, by service.', 'none', [
        [`sum by (service) (outbox_pending_events{${SEL}})`, '{{service}}'],
      ]),
      ts('Outbox oldest pending', 'Age of the oldest unpublished event (alert: PlatformOutboxLag at 60 s).', 's', [
        [`max by (service) (outbox_oldest_pending_seconds{${SEL}})`, '{{service}}'],
      ]),
      ts('Dependency errors', 'Failed calls to a dependency (redis, identity, authz) a second.', 'ops', [
        [`sum by (service, dependency) (rate(dependency_errors_total{${SEL}}${RATE}))`, '{{service}} {{dependency}}'],
      ]),
      stat(
        'Redis ready',
        "Each service's readiness check of Redis (absent where Redis is not configured).",
        'none',
        [[`min by (service) (dependency_up{${SEL}, dependency="redis"})`, '{{service}}']],
        {
          thresholds: [
            ['red', null],
            ['green', 1],
          ],
        },
      ),
    ],
  },
  {
    uid: 'platform-jobs',
    title: 'Platform: background jobs',
    description: 'Tries of background jobs by queue and status, dead jobs, queue depth, durations.',
    panels: [
      ts('Tries by queue and status', 'completed, failed (retried) or dead (the last try failed).', 'ops', [
        [`sum by (queue, status) (rate(jobs_total{${SEL}}${RATE}))`, '{{queue}} {{status}}'],
      ]),
      ts(
        'Dead jobs (15 min)',
        'Jobs that used up their tries (alert: PlatformDeadJobs); retry with platformctl jobs.',
        'none',
        [[`sum by (queue) (increase(jobs_total{${SEL}, status="dead"}[15m]))`, '{{queue}}']],
      ),
      ts('Waiting', 'Jobs due or delayed, by queue.', 'none', [[`sum by (queue) (jobs_waiting{${SEL}})`, '{{queue}}']]),
      ts('Try p95 by queue', '95th percentile of one try.', 's', [[p95('job_duration_seconds', 'queue'), '{{queue}}']]),
    ],
  },
  {
    uid: 'platform-subscriptions',
    title: 'Platform: subscriptions',
    description: "The gateway's graphql-ws sockets, subscriptions, deliveries and slow consumers.",
    panels: [
      ts('Sockets and subscriptions', 'Open graphql-ws sockets and running subscriptions on each gateway.', 'none', [
        [`sum by (instance) (graphql_ws_connections_active{${SEL}})`, 'sockets {{instance}}'],
        [`sum by (instance) (graphql_subscriptions_active{${SEL}})`, 'subscriptions {{instance}}'],
      ]),
      ts('Events delivered by field', 'Subscription events sent to clients a second, by root field.', 'ops', [
        [`sum by (field) (rate(graphql_subscription_events_total{${SEL}}${RATE}))`, '{{field}}'],
      ]),
      ts('Delivery p95 by field', 'From publication in the subgraph to the sockets.', 's', [
        [p95('graphql_subscription_delivery_seconds', 'field'), '{{field}}'],
      ]),
      ts('Fan-out p95', 'Time to write one event to every socket of a group.', 's', [
        [
          `histogram_quantile(0.95, sum by (le) (rate(graphql_subscription_fanout_seconds_bucket{${SEL}}${RATE})))`,
          'p95',
        ],
      ]),
      ts(
        'Dropped frames and closes',
        'Events not written to slow consumers; sockets the gateway closed, by close code.',
        'ops',
        [
          [`sum(rate(graphql_subscription_frames_dropped_total{${SEL}}${RATE}))`, 'dropped'],
          [`sum by (code) (rate(graphql_ws_closes_total{${SEL}}${RATE}))`, 'closed {{code}}'],
        ],
      ),
    ],
  },
  {
    uid: 'platform-security',
    title: 'Platform: security events',
    description: 'Failed and throttled logins, lockouts, refresh-token reuse, callers posing as services, refusals.',
    panels: [
      ts(
        'Credential events',
        'Security-relevant events a second (what the audit log keeps and `securityEvents` streams).',
        'ops',
        [
          [
            `sum by (topic) (rate(events_published_total{${SEL}, topic=~"identity\\\\.(login\\\\.failed|login\\\\.throttled|lockout\\\\.started|refresh\\\\.reused|registration\\\\.duplicate|password\\\\.reset_requested)"}${RATE}))`,
            '{{topic}}',
          ],
        ],
      ),
      ts(
        'Lockouts (10 min)',
        'Lockouts started in the last 10 minutes (alert: PlatformLockoutStorm above 10).',
        'none',
        [[`sum(increase(events_published_total{${SEL}, topic="identity.lockout.started"}[10m]))`, 'lockouts']],
      ),
      ts(
        'Authentication and permission errors',
        'UNAUTHENTICATED and FORBIDDEN answers a second, by operation.',
        'ops',
        [
          [
            `sum by (operation_name, code) (rate(graphql_errors_total{${SEL}, code=~"UNAUTHENTICATED|FORBIDDEN"}${RATE}))`,
            '{{operation_name}} {{code}}',
          ],
        ],
      ),
      ts(
        'Calls without the service credential',
        'Refused calls to service-only routes (alert: PlatformCredentialRefusals).',
        'ops',
        [[`sum by (service, route) (rate(service_credential_refusals_total{${SEL}}${RATE}))`, '{{service}} {{route}}']],
      ),
      ts('Authorization changes', 'Roles, grants and assignments changed a second.', 'ops', [
        [`sum by (topic) (rate(events_published_total{${SEL}, topic=~"authz\\\\..*"}${RATE}))`, '{{topic}}'],
      ]),
      ts('Rate-limited and refused requests', 'Requests refused before any work, by reason.', 'ops', [
        [`sum by (reason) (rate(graphql_requests_refused_total{${SEL}}${RATE}))`, '{{reason}}'],
      ]),
    ],
  },
  {
    uid: 'platform-errors',
    title: 'Platform: errors',
    description:
      'Unexpected errors (error bus), internal errors in GraphQL answers, 5xx answers and failing dependencies.',
    panels: [
      ts(
        'Unexpected errors by module and kind',
        'errors_total: resolver, job, consumer and process-level errors.',
        'ops',
        [[`sum by (service, module, kind) (rate(errors_total{${SEL}}${RATE}))`, '{{service}} {{module}} {{kind}}']],
      ),
      ts(
        'Internal errors in GraphQL answers',
        'INTERNAL_SERVER_ERROR by service and operation (masked; the log has the request id).',
        'ops',
        [
          [
            `sum by (service, operation_name) (rate(graphql_errors_total{${SEL}, code="INTERNAL_SERVER_ERROR"}${RATE}))`,
            '{{service}} {{operation_name}}',
          ],
        ],
      ),
      ts('5xx by service and route', 'HTTP answers with a server error a second.', 'reqps', [
        [
          `sum by (service, route, status) (rate(http_request_duration_seconds_count{${SEL}, status=~"5.."}${RATE}))`,
          '{{service}} {{route}} {{status}}',
        ],
      ]),
      ts('Dependency errors', 'Failed calls to redis, identity or authz a second.', 'ops', [
        [`sum by (service, dependency) (rate(dependency_errors_total{${SEL}}${RATE}))`, '{{service}} {{dependency}}'],
      ]),
    ],
  },
];
