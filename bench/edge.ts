// The edge benchmark: `npm run bench:edge [-- --duration 20 --rate 20 --database-url URL --gateway-process]`.
//
// Does a normal client keep its latency while one attacker tries every attack of issue 17? Starts
// the platform in a child process (PLATFORM_ENV=production, rate limits on, loopback trusted as
// the proxy in front of the gateway so each side keeps its own X-Forwarded-For address), seeds
// an author with 100 posts (what makes the 10^6-post query real), then measures a normal client
// at a paced rate twice: alone, then while an attacker thread floods the gateway with oversized
// operations, registrations, password resets, password guesses, cheap queries, sockets and
// subscriptions. Reports both latency profiles and their ratio, how every attack was answered and
// how fast, and the platform's memory; writes bench/results/edge-<time>.json. docs/performance.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { Worker } from 'node:worker_threads';
import { commandLine } from './lib/cli.js';
import { scratchDatabase, redact, type Database } from './lib/database.js';
import { PlatformProcess } from './lib/platform.js';
import { newRunId } from './lib/run-id.js';
import type { AttackContext, AttackTally } from './edge/attacks.js';
import { options, ROOT, USAGE } from './edge/options.js';

/** Normal traffic: guests behind 20 addresses, each well within its budget, and one signed-in reader. */
const NORMAL_ADDRESSES = Array.from({ length: 20 }, (_, i) => `198.51.100.${i + 1}`);
/** Where each seeded account signs up from: people, one address each, as the budgets expect. */
const setupAddress = (name: string): Record<string, string> => ({
  'x-forwarded-for': `192.0.2.${['author', 'reader', 'victim'].indexOf(name) + 1}`,
});

async function graphql<T>(url: string, query: string, variables: object, headers: Record<string, string>): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!body.data || body.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** An author with `posts` posts, a reader signed in, a victim account; returns the reader's token. */
async function seed(url: string, runId: string, posts: number): Promise<{ readerToken: string; victim: string }> {
  const password = 'edge benchmark passphrase 2026';
  const account = async (name: string) => {
    const email = `${name}-${runId}@example.com`;
    await graphql(
      url,
      'mutation ($i: RegisterInput!) { register(input: $i) { id } }',
      { i: { email, password, displayName: name } },
      setupAddress(name),
    );
    const { login } = await graphql<{ login: { accessToken: string } }>(
      url,
      'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
      { e: email, p: password },
      setupAddress(name),
    );
    return { email, token: login.accessToken };
  };
  const author = await account('author');
  for (let i = 0; i < posts; i++) {
    await graphql(
      url,
      'mutation ($t: String!) { createPost(input: { title: $t, content: "…" }) { id } }',
      { t: `post ${i}` },
      { ...setupAddress('author'), authorization: `Bearer ${author.token}` },
    );
  }
  const reader = await account('reader');
  const victim = await account('victim');
  return { readerToken: reader.token, victim: victim.email };
}

interface Latencies {
  sent: number;
  ok: number;
  failures: Record<string, number>;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** The worst latency of each second of the phase: when the tail happened. */
  worstPerSecond: number[];
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

/** The normal client: a page of posts with authors, or the reader's own profile, one every 1000/rate ms. */
async function normalClient(url: string, token: string, rate: number, durationSec: number): Promise<Latencies> {
  const latencies: number[] = [];
  const worstPerSecond: number[] = [];
  const failures: Record<string, number> = {};
  const requests: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; performance.now() - started < durationSec * 1000; i++) {
    const due = started + (i * 1000) / rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    const signedIn = i % 2 === 1;
    const body = signedIn
      ? { query: '{ me { id displayName posts(first: 5) { totalCount } } }' }
      : { query: '{ posts(first: 20) { edges { node { id title author { displayName } } } } }' };
    const sentAt = performance.now();
    requests.push(
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-forwarded-for': NORMAL_ADDRESSES[i % NORMAL_ADDRESSES.length]!,
          ...(signedIn ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      })
        .then(async (response) => {
          const text = await response.text();
          const ok = response.status === 200 && !text.includes('"errors"');
          const took = performance.now() - sentAt;
          latencies.push(took);
          const second = Math.floor((sentAt - started) / 1000);
          worstPerSecond[second] = Math.max(worstPerSecond[second] ?? 0, Math.round(took));
          if (!ok)
            failures[`${response.status} ${text.slice(0, 80)}`] =
              (failures[`${response.status} ${text.slice(0, 80)}`] ?? 0) + 1;
        })
        .catch((error: Error) => {
          latencies.push(performance.now() - sentAt);
          failures[error.name] = (failures[error.name] ?? 0) + 1;
        }),
    );
  }
  await Promise.all(requests);
  const sorted = [...latencies].sort((a, b) => a - b);
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  return {
    sent: latencies.length,
    ok: latencies.length - failed,
    failures,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? 0,
    worstPerSecond: Array.from(worstPerSecond, (worst) => worst ?? 0),
  };
}

/** Peak resident memory of a process so far (Linux), MiB. */
function peakRssMiB(pid: number): number | null {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
    return line ? Math.round(Number(line[1]) / 1024) : null;
  } catch {
    return null;
  }
}

type Tallies = Record<string, AttackTally>;

/** An attacker thread, loaded and ready: `go` starts the attacks and resolves with how each was answered. */
async function attackerThread(): Promise<{
  go(context: AttackContext, sockets: number, subscriptions: number): Promise<Tallies>;
}> {
  const worker = new Worker(new URL('./edge/attacker.ts', import.meta.url));
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  return {
    go: (context, sockets, subscriptions) =>
      new Promise((resolve, reject) => {
        worker.once('message', (tallies: Tallies) => {
          void worker.terminate();
          resolve(tallies);
        });
        worker.once('error', reject);
        worker.postMessage({ context, sockets, subscriptions });
      }),
  };
}

const f = (ms: number): string => ms.toFixed(1);

interface AttackRow {
  attack: string;
  outcomes: Record<string, number>;
  answers: number;
  p50: number;
  p99: number;
}

function attackRows(attacks: Record<string, AttackTally>): AttackRow[] {
  return Object.entries(attacks).map(([name, t]) => {
    const sorted = [...t.latencies].sort((a, b) => a - b);
    return {
      attack: name,
      outcomes: t.outcomes,
      answers: sorted.length,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
    };
  });
}

async function main(): Promise<number> {
  const opts = commandLine(options, USAGE);
  if (!opts) return 2;
  const runId = newRunId();
  mkdirSync(opts.out, { recursive: true });
  let platform: PlatformProcess | undefined;
  let gateway: PlatformProcess | undefined;
  let database: Database | undefined;
  try {
    database = opts.databaseUrl ? await scratchDatabase(opts.databaseUrl, runId, 'bench_edge') : undefined;
    const env = {
      PLATFORM_GATEWAY__RATE_LIMITS__ENABLED: 'true',
      PLATFORM_GATEWAY__SUBSCRIPTIONS__MAX_CONNECTIONS_PER_ADDRESS: '100',
      PLATFORM_GATEWAY__SUBSCRIPTIONS__MAX_SUBSCRIPTIONS_PER_ADDRESS: '500',
      // The benchmark is the proxy in front of the gateway: it says which client each request is.
      PLATFORM_HTTP__TRUSTED_PROXIES: '[loopback]',
    };
    console.log(`Starting the platform (${database ? `PostgreSQL ${redact(database.url)}` : 'embedded PGlite'})...`);
    platform = await PlatformProcess.start({ root: ROOT, databaseUrl: database?.url ?? null, env });
    if (opts.gatewayProcess) {
      gateway = await PlatformProcess.start({ root: ROOT, databaseUrl: null, env, gatewayFor: platform });
    }
    const front = gateway ?? platform;
    const url = `${front.gatewayUrl}/graphql`;
    const { readerToken, victim } = await seed(url, runId, opts.posts);
    console.log(
      `Seeded an author with ${opts.posts} posts; normal client at ${opts.rate}/s for ${opts.duration} s per phase`,
    );

    const alone = await normalClient(url, readerToken, opts.rate, opts.duration);
    console.log(
      `alone:        p50 ${f(alone.p50)} ms, p95 ${f(alone.p95)} ms, p99 ${f(alone.p99)} ms, ${alone.ok}/${alone.sent} ok`,
    );
    const phases: Array<{ name: string; attacker: string; latencies: Latencies; attacks: AttackRow[] }> = [];
    // Each phase its own attacker address: budgets used by one are not the next one's.
    const phasesToRun = [
      { name: 'paced attack', rate: opts.attackRate, address: '203.0.113.66' },
      ...(opts.flood ? [{ name: 'flood', rate: 0, address: '203.0.113.77' }] : []),
    ];
    for (const attacker of phasesToRun) {
      const thread = await attackerThread();
      await new Promise((resolve) => setTimeout(resolve, opts.smoke ? 500 : 2000));
      const context: AttackContext = {
        url,
        headers: { 'x-forwarded-for': attacker.address },
        victim,
        until: Date.now() + opts.duration * 1000,
        rate: attacker.rate,
      };
      const [latencies, attacks] = await Promise.all([
        normalClient(url, readerToken, opts.rate, opts.duration),
        thread.go(context, opts.sockets, opts.subscriptions),
      ]);
      const rows = attackRows(attacks);
      phases.push({
        name: attacker.name,
        attacker: attacker.rate > 0 ? `${attacker.rate}/s per attack` : 'each attack as fast as answered',
        latencies,
        attacks: rows,
      });
      console.log(
        `${attacker.name.padEnd(13)} p50 ${f(latencies.p50)} ms, p95 ${f(latencies.p95)} ms, p99 ${f(latencies.p99)} ms, ${latencies.ok}/${latencies.sent} ok`,
      );
      console.log(`  worst per second: ${latencies.worstPerSecond.join(' ')} ms`);
      console.log(`  how each attack was answered (${phases.at(-1)!.attacker}):`);
      for (const row of rows) {
        const outcomes = Object.entries(row.outcomes)
          .map(([k, v]) => `${v} × ${k}`)
          .join(', ');
        console.log(
          `    ${row.attack.padEnd(34)} p50 ${f(row.p50).padStart(7)} ms  p99 ${f(row.p99).padStart(7)} ms  ${outcomes}`,
        );
      }
    }
    const attacked = phases[0]!.latencies;
    const memory = {
      platformPeakRssMiB: peakRssMiB(platform.pid),
      gatewayPeakRssMiB: gateway ? peakRssMiB(gateway.pid) : null,
    };
    const ratio = attacked.p95 / Math.max(alone.p95, 0.001);
    console.log(
      `\np95 under the paced attack / alone: ${ratio.toFixed(2)}; target p95 < ${opts.p95} ms: ${attacked.p95 < opts.p95 ? 'met' : 'NOT met'}`,
    );
    console.log(
      `peak RSS: platform ${memory.platformPeakRssMiB} MiB${gateway ? `, gateway ${memory.gatewayPeakRssMiB} MiB` : ''}`,
    );

    const logs = platform.logSummary();
    const file = join(opts.out, `edge-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const record = {
      benchmark: 'edge',
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, node: process.version },
      database: database ? 'postgresql' : 'pglite',
      options: {
        ...opts,
        databaseUrl: opts.databaseUrl ? redact(opts.databaseUrl) : null,
        out: relative(ROOT, opts.out),
      },
      alone,
      phases,
      ratio,
      met: attacked.p95 < opts.p95 && attacked.ok === attacked.sent,
      memory,
      platformLogs: logs,
      gatewayLogs: gateway?.logSummary(),
    };
    writeFileSync(file, `${JSON.stringify(record, null, 1)}\n`);
    console.log(`Results: ${relative(ROOT, file)}`);
    return 0;
  } catch (error) {
    console.error(`\nedge benchmark failed: ${(error as Error).stack ?? error}`);
    if (platform?.running) console.error(`\nlast platform output:\n${platform.tail(20)}`);
    return 1;
  } finally {
    await gateway?.stop();
    await platform?.stop();
    await database?.drop().catch(() => {});
  }
}

process.exitCode = await main();
