// One load step of the login benchmark: the load, and what the server side did meanwhile.
import { cpus } from 'node:os';

import { type ProfileSummary } from '../lib/cpuprofile.js';
import {
  achievedRate,
  latencyStats,
  peakInFlight,
  peakPer100ms,
  runLoad,
  type Arrival,
  type LatencyStats,
  type LoadResult,
} from '../lib/load.js';
import {
  delta,
  machineTimes,
  platformCpu,
  processTimes,
  scrape,
  scrapeWithProcess,
  sum,
  threadTimes,
  type PlatformCpu,
  type Scrape,
} from '../lib/observe.js';
import { PlatformProcess } from '../lib/platform.js';
import { type Options } from './options.js';
import { LOGIN, JSON_HEADERS, type User, classifyLogin } from './users.js';
import { type Database } from '../lib/database.js';
import { round } from './report.js';

export interface StepSpec {
  name: string;
  arrival: Arrival;
  rate: number;
  duration: number;
  informational: boolean;
}

export interface ServerSide {
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

export interface StepResult {
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
export interface Target {
  gateway: PlatformProcess;
  platform: PlatformProcess;
}

export async function runStep(
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
    Promise.all([
      scrape(gateway.gatewayUrl),
      // GC and event-loop figures are the platform process's, reported by one of its services.
      scrapeWithProcess(platform.serviceUrls.identity, Object.values(platform.serviceUrls)),
    ]).catch(() => null);
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
export async function drain(baseUrl: string): Promise<void> {
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

export function serverSide(
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
