// The benchmark entry point: `npm run bench -- <scenario> [options]`.
//
// Scenarios: ceiling, direct, single-hop, join, stock, hive, login, auth (cases of the gateway
// benchmark, see bench/gateway/cases.ts; several at once as a comma list), gateways, all (every
// case, and rewrites the harness's section of docs/performance.md), smoke (every case for about
// a second on tiny data: checks the harness, not the numbers), and the older benchmarks
// login-detail (bench/login.ts), permissions (bench/permissions.ts) and user-cache
// (bench/user-cache.ts). See docs/performance.md.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { loadConfig } from '@platform/kernel/tools';
import { casesFor, JOIN_QUERY, LOGIN_MUTATION, type CaseSpec, type TargetName } from './gateway/cases.js';
import { measure, type RunContext, type RunResult } from './gateway/measure.js';
import { docsSection, printSummary } from './gateway/output.js';
import { ratios, summarise, writeDocsSection } from './gateway/report.js';
import { seedData } from './gateway/seed.js';
import { Targets } from './gateway/targets.js';
import { parseOptions, ROOT, USAGE, type BenchOptions } from './gateway/options.js';
import { scrape, sum } from './lib/observe.js';
import { redact, scratchDatabase, type Database } from './lib/database.js';
import { newRunId } from './lib/run-id.js';
import { BENCH_KEY_ENCRYPTION_KEY } from './lib/platform.js';
import { commandLine } from './lib/cli.js';

const OTHER_BENCHMARKS: Record<string, string> = {
  tuning: 'bench/tuning.ts',
  'login-detail': 'bench/login.ts',
  permissions: 'bench/permissions.ts',
  'user-cache': 'bench/user-cache.ts',
};

async function main(argv: string[]): Promise<number> {
  const [scenario, ...rest] = argv;
  if (!scenario || scenario === '--help' || scenario === '-h') {
    console.log(USAGE);
    return scenario ? 0 : 2;
  }
  const other = OTHER_BENCHMARKS[scenario];
  if (other) {
    const child = spawnSync(process.execPath, ['--import', './scripts/register.mjs', other, ...rest], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    return child.status ?? 1;
  }
  const parsed = commandLine(() => ({ opts: parseOptions(scenario, rest), cases: casesFor(scenario) }), USAGE);
  if (!parsed) return 2;
  return runGatewayBenchmark(scenario, parsed.cases, parsed.opts);
}

async function runGatewayBenchmark(scenario: string, cases: CaseSpec[], opts: BenchOptions): Promise<number> {
  const runId = newRunId();
  const started = performance.now();
  const log = (line: string): void =>
    console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const needed = new Set<TargetName>(cases.map((c) => c.target));
  const targets = new Targets();
  let database: Database | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'platform-bench-'));
  let stopping: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (stopping ??= (async () => {
      await targets.stop();
      rmSync(dataDir, { recursive: true, force: true }); // the platform removes it too, when it ran
      await database
        ?.drop()
        .catch((error: Error) => console.warn(`could not drop the scratch database: ${error.message}`));
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    const load = loadavg()[0]!;
    log(`scenario ${scenario}: ${cases.map((c) => c.id).join(', ')}; load average ${load.toFixed(2)}`);
    let seeded = { emails: [] as string[], password: '', seconds: 0, userIds: [] as string[] };
    if (!(needed.size === 1 && needed.has('ceiling'))) {
      database = opts.databaseUrl ? await scratchDatabase(opts.databaseUrl, runId, 'bench_gateway') : undefined;
      const config = loadConfig({
        env: {
          ...process.env,
          PLATFORM_ENV: 'production',
          LOG_LEVEL: 'warn',
          DATA_DIR: dataDir,
          SIGNING_KEY_ENCRYPTION_KEY: BENCH_KEY_ENCRYPTION_KEY,
          DATABASE_URL: database?.url ?? '',
        },
      });
      seeded = await seedData(config, { users: opts.users, posts: opts.posts });
      log(
        `seeded ${opts.users} users and ${opts.posts} posts in ${seeded.seconds.toFixed(1)} s (${database ? `PostgreSQL ${redact(database.url)}` : 'embedded PGlite'})`,
      );
    }
    await targets.start({
      root: ROOT,
      needed,
      dataDir,
      database,
      env: opts.env,
      gatewayNodeFlags: opts.gatewayNodeFlags,
      log,
    });

    const checks = await checkAnswers(targets, cases, seeded);
    for (const line of checks.lines) log(line);

    const ctx: RunContext = {
      targets,
      database,
      connections: opts.connections,
      users: seeded,
      cursor: { next: 0 },
      token: tokenSource(targets, needed.has('ours')),
    };
    const runs: RunResult[] = [];
    if (opts.warmup > 0) {
      for (const spec of cases) {
        log(`warm-up ${spec.id}: ${opts.warmup} s`);
        runs.push(await measure(spec, opts.warmup, 0, true, ctx));
      }
    }
    for (let run = 1; run <= opts.runs; run += 1) {
      // Alternate the order, so no case always runs first (after a pause) or last.
      const order = run % 2 ? cases : [...cases].reverse();
      for (const spec of order) {
        const result = await measure(spec, opts.duration, run, false, ctx);
        runs.push(result);
        log(
          `run ${run} ${spec.id}: ${result.rps.toFixed(0)} req/s, p50 ${result.latency.p50.toFixed(1)} / p95 ${result.latency.p95.toFixed(1)} / p99 ${result.latency.p99.toFixed(1)} ms, ` +
            `server CPU ${result.cpu.serverMsPerRequest.toFixed(2)} ms/req, other ${result.cpu.otherCores?.toFixed(2) ?? '?'} cores${result.failed ? `, ${result.failed} FAILED ${JSON.stringify(result.failures).slice(0, 300)}` : ''}${result.disturbed ? ' (disturbed)' : ''}`,
        );
        if (spec.login) await new Promise((r) => setTimeout(r, 2000)); // audit and outbox work after the logins
      }
    }

    const summaries = summarise(runs);
    const ratioResults = ratios(summaries);
    const record = {
      benchmark: 'gateway',
      scenario,
      date: new Date().toISOString(),
      durationSec: (performance.now() - started) / 1000,
      machine: machine(),
      versions: versions(),
      loadAverageAtStart: load,
      loadAverageAtEnd: loadavg()[0],
      database: database ? 'postgresql' : 'pglite',
      options: {
        ...opts,
        databaseUrl: opts.databaseUrl ? redact(opts.databaseUrl) : null,
        out: relative(ROOT, opts.out),
      },
      checks: checks.facts,
      summaries,
      ratios: ratioResults,
      runs,
    };
    printSummary(summaries, ratioResults);
    mkdirSync(opts.out, { recursive: true });
    const file = join(opts.out, `gateway-${scenario.replace(/[^\w-]/g, '_')}-${runId}.json`);
    writeFileSync(file, `${JSON.stringify(record, null, 1)}\n`);
    log(`results: ${relative(ROOT, file)}`);
    if (opts.writeDocs) {
      writeDocsSection(resolve(ROOT, 'docs/performance.md'), docsSection(record, relative(ROOT, file)));
      log('docs/performance.md rewritten (gateway benchmark section)');
    }
    const failed = summaries.reduce((acc, s) => acc + s.failed, 0);
    if (opts.smoke && failed > 0) {
      console.error(`smoke: ${failed} requests failed`);
      return 1;
    }
    return 0;
  } catch (error) {
    console.error(`\ngateway benchmark failed: ${(error as Error).stack ?? String(error)}`);
    for (const proc of targets.processes())
      if (proc.running) console.error(`\n${proc.name}, last lines:\n${proc.tail()}`);
    return 1;
  } finally {
    await cleanup();
  }
}

/** One checked answer per target, and how many SQL statements identity ran for one join (its batching). */
async function checkAnswers(targets: Targets, cases: CaseSpec[], seeded: { emails: string[]; password: string }) {
  const lines: string[] = [];
  const facts: Record<string, unknown> = {};
  for (const spec of cases) {
    if (spec.login || spec.authenticated) continue;
    const response = await fetch(targets.url(spec.target), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: spec.body,
    });
    const text = await response.text();
    if (!response.ok || !spec.accept(text))
      throw new Error(`${spec.id}: unexpected answer ${response.status} ${text.slice(0, 500)}`);
    if (spec.target !== 'ceiling') {
      const edges = (JSON.parse(text) as { data: { posts: { edges: unknown[] } } }).data.posts.edges.length;
      if (edges !== Math.min(20, seeded.emails.length ? 20 : 0) && edges !== 20)
        throw new Error(`${spec.id}: ${edges} posts instead of 20`);
    }
  }
  if (targets.ours && targets.platform) {
    const identity = targets.platform.serviceUrls.identity;
    const statements = async (): Promise<number> =>
      sum(await scrape(identity), 'db_query_duration_seconds_count', { source: 'request' });
    const before = await statements();
    const response = await fetch(targets.url('ours'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: JOIN_QUERY }),
    });
    const body = (await response.json()) as {
      data?: { posts: { edges: Array<{ node: { author: { id: string } } }> } };
    };
    const authors = new Set(body.data?.posts.edges.map((e) => e.node.author.id)).size;
    facts.identityStatementsPerJoin = (await statements()) - before;
    facts.distinctAuthorsPerPage = authors;
    lines.push(
      `join through our gateway: ${authors} distinct authors resolved by identity in ${String(facts.identityStatementsPerJoin)} SQL statement(s)`,
    );
  }
  if (cases.some((c) => c.login)) {
    const response = await fetch(targets.url('ours'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: LOGIN_MUTATION,
        variables: { email: seeded.emails[0], password: seeded.password },
      }),
    });
    const text = await response.text();
    if (!text.includes('"accessToken"')) throw new Error(`a first login failed: ${text.slice(0, 500)}`);
  }
  return { lines, facts };
}

/**
 * Access tokens for the authenticated case: a user registered through our gateway (so authz
 * gives them the user role, as it does for anyone who signs up), signed in again when the
 * token is older than five minutes (it lives fifteen).
 */
function tokenSource(targets: Targets, available: boolean): () => Promise<string> {
  let registered: { email: string; password: string } | undefined;
  let token: { value: string; at: number } | undefined;
  const call = async (
    query: string,
    variables: Record<string, unknown>,
  ): Promise<Record<string, Record<string, unknown>>> => {
    const response = await fetch(targets.url('ours'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: Record<string, Record<string, unknown>>; errors?: unknown[] };
    if (!body.data || body.errors) throw new Error(`authenticated case: ${JSON.stringify(body).slice(0, 500)}`);
    return body.data;
  };
  return async () => {
    if (!available) throw new Error('the authenticated case needs our gateway');
    if (token && Date.now() - token.at < 300_000) return token.value;
    if (!registered) {
      registered = {
        email: `bench-auth-${randomBytes(4).toString('hex')}@example.com`,
        password: 'authenticated bench passphrase 2026',
      };
      await call('mutation R($input: RegisterInput!) { register(input: $input) { id } }', {
        input: { ...registered, displayName: 'Bench Reader' },
      });
      await new Promise((r) => setTimeout(r, 1000)); // authz assigns the user role from identity's event
    }
    const data = await call(LOGIN_MUTATION, registered);
    token = { value: String(data.login!.accessToken), at: Date.now() };
    return token.value;
  };
}

function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: `${process.platform} ${process.arch}`,
  };
}

function versions(): Record<string, string> {
  const version = (name: string): string => {
    try {
      return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
        .version;
    } catch {
      return 'unknown';
    }
  };
  return {
    node: process.version,
    ...Object.fromEntries(
      ['@apollo/gateway', '@apollo/server', '@graphql-hive/gateway', 'graphql', 'autocannon', 'express'].map((name) => [
        name,
        version(name),
      ]),
    ),
  };
}

process.exitCode = await main(process.argv.slice(2));
