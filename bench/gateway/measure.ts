// One measured run of one case: the load, its latencies, and the CPU of every process involved
// (from /proc), so that RPS, latency and CPU per request come from the same seconds.
import { cpus } from 'node:os';
import { latencyStats, runLoad, type LatencyStats } from '../lib/load.js';
import { machineTimes, processTimes, scrape, sum } from '../lib/observe.js';
import type { Database } from '../lib/database.js';
import { LOGIN_MUTATION, type CaseSpec } from './cases.js';
import type { Targets } from './targets.js';

export interface RunResult {
  caseId: string;
  run: number;
  warmup: boolean;
  durationSec: number;
  wallSec: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  rps: number;
  latency: LatencyStats;
  cpu: {
    /** CPU seconds of the server processes of the case (gateway + subgraphs + PostgreSQL backends). */
    serverSec: number;
    loadGeneratorSec: number;
    /** Server CPU per completed request, ms. */
    serverMsPerRequest: number;
    /** Of which the process the load goes to (the gateway; for `direct`, the subgraphs' process), ms per request. */
    frontMsPerRequest: number;
    loadGeneratorMsPerRequest: number;
    /** Average cores busy with anything else on the machine (other work, other idle servers of the bench). */
    otherCores: number | null;
  };
  /** Requests blog's /graphql answered per accepted request (below 1: in-flight dedupe shared calls). */
  blogCallsPerRequest: number | null;
  /** "Other" CPU above 0.25 cores: someone else used the machine during the run. */
  disturbed: boolean;
}

export interface RunContext {
  targets: Targets;
  database: Database | undefined;
  connections: number;
  /** Seeded users for the login case. */
  users: { emails: string[]; password: string };
  cursor: { next: number };
  /** A fresh access token of a signed-in user (authenticated case). */
  token: () => Promise<string>;
}

export async function measure(
  spec: CaseSpec,
  durationSec: number,
  run: number,
  warmup: boolean,
  ctx: RunContext,
): Promise<RunResult> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (spec.authenticated) headers.authorization = `Bearer ${await ctx.token()}`;
  const loginBodies = spec.login
    ? ctx.users.emails.map((email) =>
        JSON.stringify({ query: LOGIN_MUTATION, variables: { email, password: ctx.users.password } }),
      )
    : [];
  const nextBody = spec.login
    ? (): string => loginBodies[ctx.cursor.next++ % loginBodies.length]!
    : (): string => spec.body;

  const pids = ctx.targets.pids(spec.target);
  const blog = ctx.targets.platform?.serviceUrls.blog;
  const blogCalls = async (): Promise<number | null> =>
    blog ? sum(await scrape(blog), 'http_request_duration_seconds_count', { route: '/graphql' }) : null;
  const blogBefore = await blogCalls().catch(() => null);
  const postgres = new Set(await ctx.database?.backends().catch(() => []));
  const serverBefore = processTimes([...pids, ...postgres]);
  const machineBefore = machineTimes();
  const selfBefore = process.cpuUsage();
  const started = performance.now();
  const died = new AbortController();
  const result = await runLoad({
    url: ctx.targets.url(spec.target),
    arrival: spec.load === 'closed' ? 'closed' : 'paced',
    rate: spec.load === 'closed' ? 0 : spec.load,
    durationSec,
    connections: ctx.connections,
    headers,
    nextBody,
    classify: (status, body) =>
      status < 200 || status >= 300 ? `http ${status}` : spec.accept(body) ? null : `bad body: ${body.slice(0, 120)}`,
    signal: died.signal,
  });
  const wallSec = (performance.now() - started) / 1000;
  const self = process.cpuUsage(selfBefore);
  const machineAfter = machineTimes();
  for (const pid of (await ctx.database?.backends().catch(() => [])) ?? []) postgres.add(pid);
  const serverAfter = processTimes([...pids, ...postgres]);
  for (const proc of ctx.targets.processes()) {
    if (!proc.running) throw new Error(`${proc.name} exited during case ${spec.id}:\n${proc.tail()}`);
  }

  const blogAfter = await blogCalls().catch(() => null);
  let serverSec = 0;
  for (const [pid, seconds] of serverAfter) serverSec += seconds - (serverBefore.get(pid) ?? 0);
  const front = pids[0];
  const frontSec = front === undefined ? 0 : (serverAfter.get(front) ?? 0) - (serverBefore.get(front) ?? 0);
  const loadGeneratorSec = (self.user + self.system) / 1e6;
  const ok = result.samples.filter((sample) => sample.ok).length;
  const failed = result.samples.length - ok + result.requestErrors;
  const busyCores =
    machineBefore && machineAfter
      ? ((machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total)) *
        cpus().length
      : null;
  const otherCores = busyCores === null ? null : Math.max(0, busyCores - (serverSec + loadGeneratorSec) / wallSec);
  return {
    caseId: spec.id,
    run,
    warmup,
    durationSec,
    wallSec,
    ok,
    failed,
    failures: { ...result.failures, ...(result.requestErrors ? { 'connection errors': result.requestErrors } : {}) },
    rps: ok / wallSec,
    latency: latencyStats(result.samples.map((sample) => sample.latency)),
    cpu: {
      serverSec,
      loadGeneratorSec,
      serverMsPerRequest: ok ? (serverSec / ok) * 1000 : NaN,
      frontMsPerRequest: ok ? (frontSec / ok) * 1000 : NaN,
      loadGeneratorMsPerRequest: ok ? (loadGeneratorSec / ok) * 1000 : NaN,
      otherCores,
    },
    blogCallsPerRequest: blogBefore !== null && blogAfter !== null && ok ? (blogAfter - blogBefore) / ok : null,
    disturbed: otherCores !== null && otherCores > 0.25,
  };
}
