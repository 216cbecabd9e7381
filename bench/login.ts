// The login benchmark: `npm run bench:login [-- --rate 40 --duration 30 --users 50 --database-url URL]`.
//
// Starts the platform in a child process (PLATFORM_ENV=production, a fresh DATA_DIR, free
// loopback ports), registers users through the gateway, then sends `login` mutations at a fixed
// arrival rate, each request signing in the next user. Steps: a warm-up, the target rate with a
// paced arrival (the verdict), the same rate as autocannon's bursty `overallRate`, and a higher
// rate to show where saturation begins. Prints tables and writes bench/results/login-<time>.json.
// See docs/performance.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { findProfile, summariseProfile } from './lib/cpuprofile.js';
import { runLoad } from './lib/load.js';
import { PlatformProcess } from './lib/platform.js';
import { ROOT, USAGE, options } from './login/options.js';
import { LOGIN, JSON_HEADERS, classifyLogin, graphql, registerUsers } from './login/users.js';
import { type Database, scratchDatabase, redact } from './lib/database.js';
import { type StepSpec, type StepResult, type Target, runStep } from './login/step.js';
import { round, ms, printResults } from './login/report.js';
import { newRunId } from './lib/run-id.js';
import { commandLine } from './lib/cli.js';

async function main(): Promise<number> {
  const opts = commandLine(options, USAGE);
  if (!opts) return 2;
  const runId = newRunId();
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
