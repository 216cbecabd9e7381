// The user-cache benchmark: `npm run bench -- user-cache [options]`.
//
// What identity's user cache (`runtime.cache`, `modules.identity.userCacheTtlSec`) buys the lookups
// other subgraphs make through `_entities` (a page of posts asks identity for its authors). Two
// identity subgraphs run in a child process (bench/user-cache/server.ts), one with the cache and
// one without, on their own copies of the same users; a closed loop of `connections` clients sends
// each `_entities` requests of `page` user references, in rounds that alternate the peers so drift
// hits both alike. Cases:
//   cached / uncached                 references drawn from the users (the cache warm after the first round)
//   cached-unknown / uncached-unknown fresh random ids every request (every lookup a miss: the cache's cost)
// Prints a markdown table and the ratios, and writes user-cache-<run>.json to --out.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { commandLine } from './lib/cli.js';
import { latencyStats, round, runLoad, achievedRate } from './lib/load.js';
import { scrape, sum, type Scrape } from './lib/observe.js';
import { newRunId } from './lib/run-id.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const USAGE = `npm run bench -- user-cache [--duration S] [--rounds N] [--connections C] [--users N] [--page N] [--out DIR] [--smoke]
  --duration S     seconds of load per case and round (default 10; smoke 1)
  --rounds N       rounds, each running every case once, peers alternating (default 3; smoke 1)
  --connections C  concurrent clients of the closed loop (default 8)
  --users N        users in each peer's database (default 200; smoke 40)
  --page N         user references per _entities request (default 20)
  --out DIR        where the JSON goes (default bench/results)
Uses DATABASE_URL (else embedded PGlite) and REDIS_URL (else the cache stays in process memory).`;

interface Options {
  durationSec: number;
  rounds: number;
  connections: number;
  users: number;
  page: number;
  out: string;
  smoke: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      rounds: { type: 'string' },
      connections: { type: 'string' },
      users: { type: 'string' },
      page: { type: 'string' },
      out: { type: 'string' },
      smoke: { type: 'boolean' },
    },
  });
  const smoke = values.smoke ?? false;
  const positive = (name: string, raw: string | undefined, fallback: number): number => {
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
    return value;
  };
  return {
    durationSec: positive('duration', values.duration, smoke ? 1 : 10),
    rounds: positive('rounds', values.rounds, smoke ? 1 : 3),
    connections: positive('connections', values.connections, 8),
    users: positive('users', values.users, smoke ? 40 : 200),
    page: positive('page', values.page, 20),
    out: resolve(values.out ?? join(ROOT, 'bench/results')),
    smoke,
  };
}

const QUERY = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id displayName createdAt } } }`;
type PeerName = 'cached' | 'uncached';
const CASES: Array<{ id: string; peer: PeerName; known: boolean }> = [
  { id: 'uncached', peer: 'uncached', known: true },
  { id: 'cached', peer: 'cached', known: true },
  { id: 'uncached-unknown', peer: 'uncached', known: false },
  { id: 'cached-unknown', peer: 'cached', known: false },
];

interface Servers {
  peers: Record<PeerName, { url: string; baseUrl: string }>;
  ids: string[];
  stop(): Promise<void>;
}

async function startServers(options: Options): Promise<Servers> {
  const child = spawn(process.execPath, ['--import', './scripts/register.mjs', 'bench/user-cache/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, BENCH_USERS: String(options.users) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  const ready = await new Promise<{ peers: Servers['peers']; ids: string[] }>((done, fail) => {
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (output += chunk));
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const line = output.split('\n').find((l) => l.startsWith('READY '));
      if (line) done(JSON.parse(line.slice('READY '.length)) as { peers: Servers['peers']; ids: string[] });
    });
    void exited.then((code) => fail(new Error(`the servers exited with ${code}:\n${output.slice(-3000)}`)));
  });
  return {
    ...ready,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface Step {
  caseId: string;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  requests: number;
  selects: number;
  hits: number;
  misses: number;
}

async function measureCase(
  servers: Servers,
  spec: (typeof CASES)[number],
  roundNo: number,
  options: Options,
): Promise<Step> {
  const peer = servers.peers[spec.peer];
  const pick = (): string => servers.ids[Math.floor(Math.random() * servers.ids.length)]!;
  const before = await scrape(peer.baseUrl);
  const result = await runLoad({
    url: peer.url,
    arrival: 'closed',
    rate: 0,
    durationSec: options.durationSec,
    connections: options.connections,
    headers: { 'content-type': 'application/json' },
    nextBody: () =>
      JSON.stringify({
        query: QUERY,
        variables: {
          representations: Array.from({ length: options.page }, () => ({
            __typename: 'User',
            id: spec.known ? pick() : randomUUID(),
          })),
        },
      }),
    classify: (status, body) => {
      if (status !== 200) return `http ${status}`;
      const parsed = JSON.parse(body) as { errors?: unknown[]; data?: { _entities?: unknown[] } };
      if (parsed.errors) return 'graphql error';
      return parsed.data?._entities?.length === options.page ? null : 'wrong answer';
    },
  });
  const after = await scrape(peer.baseUrl);
  const delta = (name: string, where: Record<string, string>, from: Scrape = before, to: Scrape = after): number =>
    sum(to, name, where) - sum(from, name, where);
  const latency = latencyStats(result.samples.filter((s) => s.ok).map((s) => s.latency));
  return {
    caseId: spec.id,
    round: roundNo,
    rps: round(achievedRate(result)),
    p50: round(latency.p50),
    p99: round(latency.p99),
    failed: result.samples.filter((s) => !s.ok).length + result.requestErrors,
    requests: result.samples.length,
    // The scrape before the step ran its own statements (a gauge may query): counted in, below 1 per step.
    selects: delta('db_query_duration_seconds_count', { operation: 'select', source: 'request' }),
    hits: delta('cache_requests_total', { namespace: 'identity', result: 'hit' }),
    misses: delta('cache_requests_total', { namespace: 'identity', result: 'miss' }),
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
};

async function main(argv: string[]): Promise<number> {
  const options = commandLine(() => parseOptions(argv), USAGE);
  if (!options) return 2;
  const runId = newRunId();
  const database = process.env.DATABASE_URL ? 'postgresql' : 'pglite';
  const redis = Boolean(process.env.REDIS_URL);
  console.log(
    `user-cache ${runId}: ${database}${redis ? ' + redis' : ''}, ${options.rounds} round(s) × ${CASES.length} cases × ${options.durationSec} s, ` +
      `${options.connections} clients, ${options.page} references per request, ${options.users} users; load ${loadavg()[0]!.toFixed(2)}`,
  );
  const servers = await startServers(options);
  const steps: Step[] = [];
  try {
    for (let r = 1; r <= options.rounds; r++) {
      const order = r % 2 === 1 ? CASES : [...CASES].reverse();
      for (const spec of order) {
        const step = await measureCase(servers, spec, r, options);
        steps.push(step);
        console.log(`  round ${r} ${spec.id.padEnd(17)} ${step.rps} req/s, p50 ${step.p50} ms, p99 ${step.p99} ms`);
      }
    }
  } finally {
    await servers.stop();
  }
  const summaries = CASES.map(({ id }) => {
    const mine = steps.filter((s) => s.caseId === id);
    const requests = mine.reduce((n, s) => n + s.requests, 0);
    const lookups = mine.reduce((n, s) => n + s.hits + s.misses, 0);
    return {
      caseId: id,
      runs: mine.length,
      rps: median(mine.map((s) => s.rps)),
      p50: median(mine.map((s) => s.p50)),
      p99: median(mine.map((s) => s.p99)),
      failed: mine.reduce((n, s) => n + s.failed, 0),
      selectsPerRequest: requests
        ? Math.round((mine.reduce((n, s) => n + s.selects, 0) / requests) * 1000) / 1000
        : null,
      hitRatio: lookups ? Math.round((mine.reduce((n, s) => n + s.hits, 0) / lookups) * 1000) / 1000 : null,
    };
  });
  const byId = new Map(summaries.map((s) => [s.caseId, s]));
  const ratio = (a: string, b: string, field: 'rps' | 'p50'): number | null => {
    const x = byId.get(a)![field];
    const y = byId.get(b)![field];
    return x > 0 && y > 0 ? Math.round((x / y) * 100) / 100 : null;
  };
  const ratios = [
    { id: 'cached/uncached req/s', value: ratio('cached', 'uncached', 'rps') },
    { id: 'cached/uncached p50', value: ratio('cached', 'uncached', 'p50') },
    { id: 'cached-unknown/uncached-unknown req/s', value: ratio('cached-unknown', 'uncached-unknown', 'rps') },
    { id: 'cached-unknown/uncached-unknown p50', value: ratio('cached-unknown', 'uncached-unknown', 'p50') },
  ];
  console.log('\n| case | req/s | p50 ms | p99 ms | SELECTs per request | cache hits | failed |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const s of summaries) {
    console.log(
      `| ${s.caseId} | ${s.rps} | ${s.p50} | ${s.p99} | ${s.selectsPerRequest ?? '–'} | ${s.hitRatio === null ? '–' : `${Math.round(s.hitRatio * 100)} %`} | ${s.failed} |`,
    );
  }
  console.log('');
  for (const r of ratios) console.log(`${r.id}: ${r.value ?? '–'}`);
  mkdirSync(options.out, { recursive: true });
  const file = join(options.out, `user-cache-${runId}.json`);
  const environment = { database, redis, node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model };
  writeFileSync(file, `${JSON.stringify({ runId, options, environment, steps, summaries, ratios }, null, 2)}\n`);
  console.log(`\nwritten ${file}`);
  return summaries.some((s) => s.failed > 0) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
