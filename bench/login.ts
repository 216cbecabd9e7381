// The login benchmark: `npm run bench:login [-- --rate 40 --duration 30 --users 50 --database-url URL]`.
//
// Starts the platform in a child process (PLATFORM_ENV=production, a fresh DATA_DIR, free
// loopback ports), registers users through the gateway, then sends `login` mutations at a fixed
// arrival rate, each request signing in the next user. Steps: a warm-up, the target rate with a
// paced arrival (the verdict), the same rate as autocannon's bursty `overallRate`, and a higher
// rate to show where saturation begins. Prints tables and writes bench/results/login-<time>.json.
// See docs/performance.md.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { table } from '../scripts/src/table.js';
import { findProfile, summariseProfile, type ProfileSummary } from './lib/cpuprofile.js';
import {
  achievedRate,
  latencyStats,
  peakInFlight,
  peakPer100ms,
  runLoad,
  type Arrival,
  type LatencyStats,
  type LoadResult,
} from './lib/load.js';
import {
  delta,
  machineTimes,
  platformCpu,
  processTimes,
  scrape,
  sum,
  threadTimes,
  type PlatformCpu,
  type Scrape,
} from './lib/observe.js';
import { PlatformProcess } from './lib/platform.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npm run bench:login -- [options]   (each option also as BENCH_<NAME>, e.g. BENCH_RATE=40)
  --rate N            target logins per second (default 40)
  --extra-rates LIST  informational paced steps after the target, e.g. 20,30,80; 0 for none
                      (default 2 × rate, to show where saturation begins)
  --duration S        seconds per measured step (default 30)
  --warmup S          seconds of warm-up at the target rate, not measured (default 5)
  --users N           users registered and logged in round-robin (default 50)
  --connections N     connections of the autocannon overallRate step (default 10)
  --no-burst          skip the autocannon overallRate step
  --p95 MS            the p95 target in ms (default 100)
  --database-url URL  PostgreSQL server (default: DATABASE_URL, else embedded PGlite); the benchmark
                      creates a fresh database on it and drops it at the end
  --split-gateway     also run a standalone gateway (gateway/src/main.ts) in its own process in front of
                      the platform's subgraphs and send the load there: the CPU split between the gateway
                      and the subgraphs is then measured per process (not how \`npm start\` runs)
  --cpu-prof          profile the platform's main thread and summarise it per category
  --out DIR           where results go (default bench/results)`;

interface Options {
  rate: number;
  extraRates: number[];
  duration: number;
  warmup: number;
  users: number;
  connections: number;
  burst: boolean;
  p95: number;
  databaseUrl: string | null;
  cpuProf: boolean;
  splitGateway: boolean;
  out: string;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string' },
      'extra-rates': { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      users: { type: 'string' },
      connections: { type: 'string' },
      'no-burst': { type: 'boolean' },
      p95: { type: 'string' },
      'database-url': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'split-gateway': { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const env = (name: string): string | undefined => process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const number = (name: keyof typeof values, fallback: number, min: number): number => {
    const raw = (values[name] as string | undefined) ?? env(name);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
    return value;
  };
  const rateList = (name: keyof typeof values, fallback: number[]): number[] => {
    const raw = (values[name] as string | undefined) ?? env(name);
    if (raw === undefined) return fallback;
    const list = raw.split(',').map((item) => Number(item.trim()));
    if (list.some((value) => !Number.isInteger(value) || value < 0)) {
      throw new UsageError(`--${name} must be a comma-separated list of integers`);
    }
    return list.filter((value) => value > 0);
  };
  const flag = (name: keyof typeof values): boolean => Boolean(values[name]) || /^(1|true|yes)$/i.test(env(name) ?? '');
  const rate = number('rate', 40, 1);
  return {
    rate,
    extraRates: rateList('extra-rates', [2 * rate]),
    duration: number('duration', 30, 1),
    warmup: number('warmup', 5, 0),
    users: number('users', 50, 1),
    connections: number('connections', 10, 1),
    burst: !flag('no-burst'),
    p95: number('p95', 100, 1),
    databaseUrl:
      (values['database-url'] as string | undefined) ?? env('database-url') ?? process.env.DATABASE_URL ?? null,
    cpuProf: flag('cpu-prof'),
    splitGateway: flag('split-gateway'),
    out: resolve(ROOT, (values.out as string | undefined) ?? env('out') ?? 'bench/results'),
  };
}

class UsageError extends Error {}

const LOGIN =
  'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken refreshToken expiresIn } }';
const REGISTER = 'mutation Register($input: RegisterInput!) { register(input: $input) { id } }';
const JSON_HEADERS = { 'content-type': 'application/json' };

interface User {
  email: string;
  password: string;
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

/** A login is good when it is a 2xx whose body has data.login.accessToken and no `errors`. */
function classifyLogin(status: number, body: string): string | null {
  if (status < 200 || status >= 300) return `http ${status}`;
  let parsed: GraphQLBody;
  try {
    parsed = JSON.parse(body) as GraphQLBody;
  } catch {
    return 'body is not JSON';
  }
  if (parsed.errors?.length)
    return `graphql ${parsed.errors[0]?.extensions?.code ?? parsed.errors[0]?.message ?? 'error'}`;
  const login = parsed.data?.login as { accessToken?: unknown } | undefined;
  return typeof login?.accessToken === 'string' ? null : 'no accessToken';
}

async function graphql(url: string, query: string, variables: Record<string, unknown>): Promise<GraphQLBody> {
  const response = await fetch(url, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json()) as GraphQLBody;
  if (!response.ok || body.errors?.length) {
    throw new Error(`${response.status}: ${body.errors?.map((error) => error.message).join('; ') ?? 'no body'}`);
  }
  return body;
}

/** Registers `count` users, two at a time (one argon2 hash per core). */
async function registerUsers(graphqlUrl: string, count: number, runId: string): Promise<User[]> {
  const users = Array.from({ length: count }, (_, i) => ({
    email: `bench-${runId}-${i}@example.com`,
    password: `login bench passphrase ${runId} ${i}`,
  }));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < users.length) {
      const i = next++;
      const { email, password } = users[i]!;
      await graphql(graphqlUrl, REGISTER, { input: { email, password, displayName: `Bench User ${i}` } });
    }
  };
  await Promise.all([worker(), worker()]);
  return users;
}

interface Database {
  url: string;
  /** PIDs of the PostgreSQL backends serving the benchmark's database (their CPU is the database's). */
  backends(): Promise<number[]>;
  drop(): Promise<void>;
}

/** A fresh database on the server of `url` (dropped at the end), or `url` itself if it cannot be created. */
async function scratchDatabase(url: string, runId: string): Promise<Database> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  let name = `bench_login_${runId}`;
  let scratch: string;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const parsed = new URL(url);
    parsed.pathname = `/${name}`;
    scratch = parsed.toString();
  } catch (error) {
    console.warn(`could not create a scratch database (${(error as Error).message}); using ${redact(url)} as is`);
    name = (await admin.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    scratch = url;
  }
  return {
    url: scratch,
    backends: async () =>
      (
        await admin.query<{ pid: number }>(
          'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [name],
        )
      ).rows.map((row) => row.pid),
    drop: async () => {
      try {
        if (scratch !== url) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

interface StepSpec {
  name: string;
  arrival: Arrival;
  rate: number;
  duration: number;
  informational: boolean;
}

interface ServerSide {
  /** Mean time of a /graphql request in the gateway and in identity, ms. */
  gatewayMeanMs: number | null;
  identityMeanMs: number | null;
  /** SQL statements identity ran per login, and their summed time per login, ms. */
  identityQueriesPerLogin: number | null;
  identityDbMsPerLogin: number | null;
  /** GC in the process running the subgraphs (and the gateway, without --split-gateway). */
  gc: { count: number; totalMs: number; over10ms: number; over100ms: number; byKind: Record<string, number> };
  /** Event-loop delay of that process in ms, from perf_hooks' histogram (its 10 ms sampling interval included). */
  eventLoopDelay: { p50: number; p99: number; max: number };
}

interface StepResult {
  name: string;
  arrival: Arrival;
  informational: boolean;
  targetRate: number;
  connections: number;
  durationSec: number;
  sent: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  requestErrors: number;
  timeouts: number;
  achievedRate: number;
  /** Latency of every response (successes and failures), ms. */
  latency: LatencyStats;
  peakSendsPer100ms: number;
  peakInFlight: number;
  autocannonLatency?: LoadResult['autocannonLatency'];
  server: ServerSide | null;
  /** Wall seconds from the first request to the end of the step. */
  wallSec: number;
  cpu: {
    /** The `npm start` process (with --split-gateway: the subgraphs only). */
    platform: PlatformCpu | null;
    /** With --split-gateway: the standalone gateway process. */
    gateway?: PlatformCpu | null;
    /** CPU seconds of this process (autocannon). */
    loadGenerator: number;
    /** Busy share of all cores of the machine, 0–1. */
    machineBusy: number | null;
    /** Cores in use on average: platform (+ gateway process), load generator, everything else (PostgreSQL, other work). */
    coresPlatform: number | null;
    coresGateway?: number | null;
    /** With PostgreSQL: the backends serving the benchmark's database. */
    coresPostgres?: number;
    coresLoadGenerator: number;
    coresOther: number | null;
  };
  profile?: ProfileSummary;
  gatewayProfile?: ProfileSummary;
  meetsTarget?: boolean;
  samples: Array<[number, number, 0 | 1]>;
}

/** The process the load goes to (`gateway`) and the one running the subgraphs (`platform`); the same without --split-gateway. */
interface Target {
  gateway: PlatformProcess;
  platform: PlatformProcess;
}

async function runStep(
  spec: StepSpec,
  { gateway, platform }: Target,
  users: User[],
  opts: Options,
  cursor: { next: number },
  database: Database | undefined,
): Promise<StepResult & { window: [number, number] }> {
  const postgresPids = new Set(await database?.backends().catch(() => []));
  const postgresBefore = processTimes(postgresPids);
  const scrapes = async (): Promise<[Scrape, Scrape] | null> =>
    Promise.all([scrape(gateway.gatewayUrl), scrape(platform.serviceUrls.identity)]).catch(() => null);
  const bodies = users.map((user) => JSON.stringify({ query: LOGIN, variables: user }));
  const before = await scrapes();
  const split = gateway !== platform;
  const threadsBefore = threadTimes(platform.pid);
  const gatewayThreadsBefore = split ? threadTimes(gateway.pid) : null;
  const machineBefore = machineTimes();
  const cpuBefore = process.cpuUsage();
  const fromUs = Number(process.hrtime.bigint() / 1000n);

  // A platform that dies mid-step would turn the rest of it into a storm of refused connections.
  const died = new AbortController();
  for (const proc of new Set([gateway, platform])) void proc.exited.then(() => died.abort());
  const result = await runLoad({
    signal: died.signal,
    url: `${gateway.gatewayUrl}/graphql`,
    arrival: spec.arrival,
    rate: spec.rate,
    durationSec: spec.duration,
    connections: opts.connections,
    headers: JSON_HEADERS,
    nextBody: () => bodies[cursor.next++ % bodies.length]!,
    classify: classifyLogin,
  });

  const toUs = Number(process.hrtime.bigint() / 1000n);
  for (const proc of new Set([gateway, platform])) {
    if (!proc.running) {
      throw new Error(
        `the platform (pid ${proc.pid}) exited during step "${spec.name}" (it was sent a signal, or crashed):\n${proc.tail(20)}`,
      );
    }
  }
  const cpuAfter = process.cpuUsage(cpuBefore);
  const machineAfter = machineTimes();
  for (const pid of (await database?.backends().catch(() => [])) ?? []) postgresPids.add(pid);
  const postgresAfter = processTimes(postgresPids);
  const threadsAfter = threadTimes(platform.pid);
  const gatewayThreadsAfter = split ? threadTimes(gateway.pid) : null;
  // The event-loop gauges cover the time since the previous scrape of that registry: read them now,
  // from identity's (the process with the subgraphs, which is also the gateway's without --split-gateway).
  const loop = await scrape(platform.serviceUrls.identity).catch(() => null);
  // Requests still in flight when autocannon stopped finish on the server: wait for them, so the
  // gateway's and identity's counters cover the same requests.
  await drain(platform.serviceUrls.identity);
  const after = await scrapes();

  const wallSec = (toUs - fromUs) / 1e6;
  const cpu = platformCpu(platform.pid, threadsBefore, threadsAfter);
  const gatewayCpu = split ? platformCpu(gateway.pid, gatewayThreadsBefore, gatewayThreadsAfter) : undefined;
  const loadGenerator = (cpuAfter.user + cpuAfter.system) / 1e6;
  const machineBusy =
    machineBefore && machineAfter
      ? (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total)
      : null;
  const cores = cpus().length;
  const coresPlatform = cpu ? cpu.total / wallSec : null;
  const coresGateway = gatewayCpu === undefined ? undefined : gatewayCpu ? gatewayCpu.total / wallSec : null;
  const coresLoadGenerator = loadGenerator / wallSec;
  let postgresSeconds = 0;
  for (const [pid, seconds] of postgresAfter) postgresSeconds += seconds - (postgresBefore.get(pid) ?? 0);
  const coresPostgres = database ? postgresSeconds / wallSec : undefined;
  const ok = result.samples.filter((sample) => sample.ok).length;
  return {
    name: spec.name,
    arrival: spec.arrival,
    informational: spec.informational,
    targetRate: spec.rate,
    connections: result.connections,
    durationSec: spec.duration,
    sent: result.samples.length + result.requestErrors,
    ok,
    failed: result.samples.length - ok + result.requestErrors,
    failures: result.failures,
    requestErrors: result.requestErrors,
    timeouts: result.timeouts,
    achievedRate: achievedRate(result),
    latency: latencyStats(result.samples.map((sample) => sample.latency)),
    peakSendsPer100ms: peakPer100ms(result.samples),
    peakInFlight: peakInFlight(result.samples),
    autocannonLatency: result.autocannonLatency,
    server: before && after && loop ? serverSide(before, after, loop) : null,
    wallSec,
    cpu: {
      platform: cpu,
      gateway: gatewayCpu,
      coresGateway,
      coresPostgres,
      loadGenerator,
      machineBusy,
      coresPlatform,
      coresLoadGenerator,
      coresOther:
        machineBusy !== null && coresPlatform !== null
          ? Math.max(
              0,
              machineBusy * cores - coresPlatform - (coresGateway ?? 0) - (coresPostgres ?? 0) - coresLoadGenerator,
            )
          : null,
    },
    samples: result.samples.map((s) => [round(s.sentAt), round(s.latency), s.ok ? 1 : 0]),
    window: [fromUs, toUs],
  };
}

/** Waits (at most 15 s) until a service's count of /graphql requests stops growing. */
async function drain(baseUrl: string): Promise<void> {
  const count = async (): Promise<number> =>
    sum(await scrape(baseUrl), 'http_request_duration_seconds_count', { route: '/graphql' });
  const deadline = Date.now() + 15_000;
  let last = await count().catch(() => NaN);
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const now = await count().catch(() => NaN);
    if (now === last) return;
    last = now;
  }
}

function serverSide(
  [gatewayBefore, identityBefore]: [Scrape, Scrape],
  [gatewayAfter, identityAfter]: [Scrape, Scrape],
  loop: Scrape,
) {
  const graphqlRoute = { route: '/graphql', method: 'POST' };
  const mean = (before: Scrape, after: Scrape, name: string, where: Record<string, string>): number | null => {
    const count = delta(before, after, `${name}_count`, where);
    return count ? (delta(before, after, `${name}_sum`, where) / count) * 1000 : null;
  };
  const identityLogins = delta(identityBefore, identityAfter, 'http_request_duration_seconds_count', graphqlRoute);
  const gcCount = delta(identityBefore, identityAfter, 'nodejs_gc_duration_seconds_count');
  const byKind: Record<string, number> = {};
  for (const kind of ['minor', 'major', 'incremental', 'weakcb']) {
    const count = delta(identityBefore, identityAfter, 'nodejs_gc_duration_seconds_count', { kind });
    if (count) byKind[kind] = count;
  }
  const gauge = (name: string): number => sum(loop, name) * 1000;
  const server: ServerSide = {
    gatewayMeanMs: mean(gatewayBefore, gatewayAfter, 'http_request_duration_seconds', graphqlRoute),
    identityMeanMs: mean(identityBefore, identityAfter, 'http_request_duration_seconds', graphqlRoute),
    identityQueriesPerLogin: identityLogins
      ? delta(identityBefore, identityAfter, 'db_query_duration_seconds_count', { source: 'request' }) / identityLogins
      : null,
    identityDbMsPerLogin: identityLogins
      ? (delta(identityBefore, identityAfter, 'db_query_duration_seconds_sum', { source: 'request' }) /
          identityLogins) *
        1000
      : null,
    gc: {
      count: gcCount,
      totalMs: delta(identityBefore, identityAfter, 'nodejs_gc_duration_seconds_sum') * 1000,
      over10ms: gcCount - delta(identityBefore, identityAfter, 'nodejs_gc_duration_seconds_bucket', { le: '0.01' }),
      over100ms: gcCount - delta(identityBefore, identityAfter, 'nodejs_gc_duration_seconds_bucket', { le: '0.1' }),
      byKind,
    },
    eventLoopDelay: {
      p50: gauge('nodejs_eventloop_lag_p50_seconds'),
      p99: gauge('nodejs_eventloop_lag_p99_seconds'),
      max: gauge('nodejs_eventloop_lag_max_seconds'),
    },
  };
  return server;
}

const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
const ms = (value: number | null | undefined): string =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(value < 10 ? 1 : 0);

function printResults(steps: StepResult[], opts: Options): void {
  console.log('\nClient side (latency of every response, ms; request written → response read)');
  console.log(
    table(
      [
        'step',
        'arrival',
        'target/s',
        'achieved/s',
        'ok',
        'failed',
        'p50',
        'p95',
        'p99',
        'max',
        'peak/100ms',
        'in flight',
        'verdict',
      ],
      steps.map((step) => [
        step.name,
        step.arrival === 'burst' ? `burst (${step.connections} conns)` : 'paced',
        String(step.targetRate),
        step.achievedRate.toFixed(1),
        String(step.ok),
        String(step.failed),
        ms(step.latency.p50),
        ms(step.latency.p95),
        ms(step.latency.p99),
        ms(step.latency.max),
        String(step.peakSendsPer100ms),
        String(step.peakInFlight),
        step.meetsTarget === undefined ? (step.informational ? 'info' : '') : step.meetsTarget ? 'PASS' : 'FAIL',
      ]),
    ),
  );
  for (const step of steps) {
    if (step.achievedRate < 0.95 * step.targetRate) {
      console.log(
        `  ${step.name}: only ${step.achievedRate.toFixed(1)}/s sent: responses slower than ${step.arrival === 'paced' ? '1 s held each connection back' : "a connection's share of the second"}, so the latencies are a lower bound`,
      );
    }
    if ((step.cpu.coresOther ?? 0) > 0.25) {
      console.log(
        `  ${step.name}: other processes used ${step.cpu.coresOther!.toFixed(2)} cores meanwhile: the machine was not quiet, rerun`,
      );
    }
  }
  const failing = steps.filter((step) => step.failed);
  for (const step of failing) {
    console.log(
      `  ${step.name} failures: ${JSON.stringify(step.failures)} request errors: ${step.requestErrors} (timeouts ${step.timeouts})`,
    );
  }
  for (const step of steps) {
    if (step.autocannonLatency) {
      const { p50, p97_5, p99, max } = step.autocannonLatency;
      console.log(
        `  ${step.name}: autocannon's own histogram (coordinated-omission corrected) says p50 ${p50} p97.5 ${p97_5} p99 ${p99} max ${max}`,
      );
    }
  }

  console.log('\nServer side (means per /graphql request; CPU in cores = CPU seconds / wall seconds)');
  console.log(
    table(
      [
        'step',
        'gateway ms',
        'identity ms',
        'SQL/login',
        'SQL ms',
        'main',
        'pool',
        'V8 helpers',
        'platform',
        'gateway proc',
        'postgres',
        'autocannon',
        'other',
        'GC n',
        'GC ms',
        'GC>10ms',
        'loop p99',
        'loop max',
      ],
      steps.map((step) => {
        const cores = (seconds: number | undefined): string =>
          seconds === undefined ? '-' : (seconds / step.wallSec).toFixed(2);
        const s = step.server;
        return [
          step.name,
          ms(s?.gatewayMeanMs),
          ms(s?.identityMeanMs),
          s?.identityQueriesPerLogin?.toFixed(1) ?? '-',
          ms(s?.identityDbMsPerLogin),
          cores(step.cpu.platform?.mainThread),
          cores(step.cpu.platform?.threadPool),
          cores(step.cpu.platform?.otherThreads),
          step.cpu.coresPlatform?.toFixed(2) ?? '-',
          step.cpu.coresGateway?.toFixed(2) ?? '-',
          step.cpu.coresPostgres?.toFixed(2) ?? '-',
          step.cpu.coresLoadGenerator.toFixed(2),
          step.cpu.coresOther?.toFixed(2) ?? '-',
          String(s?.gc.count ?? '-'),
          ms(s?.gc.totalMs),
          String(s?.gc.over10ms ?? '-'),
          ms(s?.eventLoopDelay.p99),
          ms(s?.eventLoopDelay.max),
        ];
      }),
    ),
  );
  const profiled = steps[0];
  for (const [who, profile] of [
    ['Platform', profiled?.profile],
    ['Standalone gateway', profiled?.gatewayProfile],
  ] as const) {
    if (!profile) continue;
    console.log(
      `\n${who} main thread during "${profiled!.name}" (${profile.windowed ? 'step window' : 'whole run'}; ${(profile.totalMs / 1000).toFixed(1)} s of samples, self time by category)`,
    );
    console.log(
      table(
        ['category', 'ms', 'share'],
        profile.self.map((row) => [row.category, row.ms.toFixed(0), `${(row.share * 100).toFixed(1)}%`]),
      ),
    );
  }
  const verdictStep = steps.find((step) => step.meetsTarget !== undefined);
  if (verdictStep) {
    console.log(
      `\nTarget: p95 < ${opts.p95} ms at ${opts.rate} logins/s with no failures → ${verdictStep.meetsTarget ? 'MET' : 'NOT MET'} (p95 ${ms(verdictStep.latency.p95)} ms, ${verdictStep.achievedRate.toFixed(1)}/s, ${verdictStep.failed} failed)`,
    );
  }
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = options();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const runId = `${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${randomBytes(2).toString('hex')}`;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(opts.out, { recursive: true });
  const profileDir = opts.cpuProf ? join(opts.out, `login-${stamp}-cpuprofile`) : null;

  let platform: PlatformProcess | undefined;
  let splitGateway: PlatformProcess | undefined;
  let database: Database | undefined;
  let stopping: Promise<unknown> | undefined;
  const cleanup = async (): Promise<void> => {
    stopping ??= (async () => {
      await splitGateway?.stop();
      await platform?.stop();
      await database
        ?.drop()
        .catch((error: Error) => console.warn(`could not drop the scratch database: ${error.message}`));
    })();
    await stopping;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the platform`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    database = opts.databaseUrl ? await scratchDatabase(opts.databaseUrl, runId) : undefined;
    const kind = database ? `PostgreSQL (${redact(database.url)})` : 'embedded PGlite';
    console.log(`Starting the platform (PLATFORM_ENV=production, ${kind})...`);
    const started = performance.now();
    // 5 ms between samples: plenty for shares per category, and light on the process.
    const nodeFlags = profileDir ? ['--cpu-prof', '--cpu-prof-interval', '5000', '--cpu-prof-dir', profileDir] : [];
    platform = await PlatformProcess.start({ root: ROOT, databaseUrl: database?.url ?? null, nodeFlags });
    console.log(
      `Ready in ${((performance.now() - started) / 1000).toFixed(1)} s: ${platform.gatewayUrl}/graphql (pid ${platform.pid})`,
    );

    if (opts.splitGateway) {
      splitGateway = await PlatformProcess.start({ root: ROOT, databaseUrl: null, nodeFlags, gatewayFor: platform });
      console.log(`Standalone gateway: ${splitGateway.gatewayUrl}/graphql (pid ${splitGateway.pid})`);
    }
    const target: Target = { gateway: splitGateway ?? platform, platform };
    const graphqlUrl = `${target.gateway.gatewayUrl}/graphql`;
    const registering = performance.now();
    const users = await registerUsers(graphqlUrl, opts.users, runId);
    console.log(`Registered ${users.length} users in ${((performance.now() - registering) / 1000).toFixed(1)} s`);
    const check = await graphql(graphqlUrl, LOGIN, { ...users[0]! });
    if (classifyLogin(200, JSON.stringify(check))) throw new Error(`a first login failed: ${JSON.stringify(check)}`);

    const cursor = { next: 0 };
    const steps: StepSpec[] = [
      {
        name: `target ${opts.rate}/s`,
        arrival: 'paced',
        rate: opts.rate,
        duration: opts.duration,
        informational: false,
      },
      ...(opts.burst
        ? [
            {
              name: `overallRate ${opts.rate}/s`,
              arrival: 'burst' as const,
              rate: opts.rate,
              duration: opts.duration,
              informational: true,
            },
          ]
        : []),
      ...opts.extraRates.map((rate) => ({
        name: `${rate > opts.rate ? 'high' : 'low'} ${rate}/s`,
        arrival: 'paced' as const,
        rate,
        duration: opts.duration,
        informational: true,
      })),
    ];
    if (opts.warmup) {
      console.log(`Warm-up: ${opts.warmup} s at ${opts.rate}/s`);
      await runLoad({
        url: graphqlUrl,
        arrival: 'paced',
        rate: opts.rate,
        durationSec: opts.warmup,
        connections: opts.connections,
        headers: JSON_HEADERS,
        nextBody: () => JSON.stringify({ query: LOGIN, variables: users[cursor.next++ % users.length] }),
        classify: classifyLogin,
      });
    }
    const results: StepResult[] = [];
    const windows: Array<[number, number]> = [];
    for (const spec of steps) {
      await new Promise((resolve) => setTimeout(resolve, 2000)); // let the previous step's queue drain
      console.log(
        `Step "${spec.name}": ${spec.duration} s, ${spec.arrival === 'burst' ? `autocannon overallRate over ${opts.connections} connections` : 'paced arrivals'}`,
      );
      const { window, ...step } = await runStep(spec, target, users, opts, cursor, database);
      if (!spec.informational) {
        step.meetsTarget = step.latency.p95 < opts.p95 && step.failed === 0 && step.achievedRate >= 0.95 * spec.rate;
      }
      results.push(step);
      windows.push(window);
      console.log(
        `  ${step.ok} ok, ${step.failed} failed, p50 ${ms(step.latency.p50)} ms, p95 ${ms(step.latency.p95)} ms`,
      );
    }

    const logs = platform.logSummary();
    const gatewayLogs = splitGateway?.logSummary();
    const pids = { platform: platform.pid, gateway: splitGateway?.pid };
    const gatewayExitCode = await splitGateway?.stop();
    splitGateway = undefined;
    const exitCode = await platform.stop();
    platform = undefined;
    if (profileDir) {
      const file = findProfile(profileDir, pids.platform);
      if (file) results[0]!.profile = summariseProfile(file, ...windows[0]!);
      else console.warn(`no .cpuprofile was written to ${profileDir}`);
      const gatewayFile = pids.gateway ? findProfile(profileDir, pids.gateway) : null;
      if (gatewayFile) results[0]!.gatewayProfile = summariseProfile(gatewayFile, ...windows[0]!);
    }
    printResults(results, opts);
    for (const [who, summary] of [
      ['Platform', logs],
      ['Standalone gateway', gatewayLogs],
    ] as const) {
      if (!summary?.messages.length) continue;
      console.log(`\n${who} warnings and errors:`);
      for (const { level, msg, count, first } of summary.messages) {
        console.log(`  ${count} × ${level}: ${msg}\n    first: ${first.slice(0, 400)}`);
      }
    }

    const file = join(opts.out, `login-${stamp}.json`);
    const record = {
      benchmark: 'login',
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGiB: round(totalmem() / 2 ** 30, 1),
        node: process.version,
        platform: `${process.platform} ${process.arch}`,
      },
      database: database ? 'postgresql' : 'pglite',
      options: {
        ...opts,
        databaseUrl: opts.databaseUrl ? redact(opts.databaseUrl) : null,
        out: relative(ROOT, opts.out),
      },
      target: {
        rate: opts.rate,
        p95Ms: opts.p95,
        met: results.find((step) => !step.informational)?.meetsTarget ?? false,
      },
      platform: { exitCode, logs },
      ...(gatewayLogs ? { standaloneGateway: { exitCode: gatewayExitCode, logs: gatewayLogs } } : {}),
      steps: results,
    };
    writeFileSync(file, `${JSON.stringify(record, null, 1)}\n`);
    console.log(
      `\nResults: ${relative(ROOT, file)}${profileDir ? `\nCPU profile: ${relative(ROOT, profileDir)}` : ''}`,
    );
    return 0;
  } catch (error) {
    console.error(`\nlogin benchmark failed: ${(error as Error).stack ?? error}`);
    if (platform?.running) console.error(`\nlast platform output:\n${platform.tail(20)}`);
    return 1;
  } finally {
    await cleanup();
  }
}

process.exitCode = await main();
