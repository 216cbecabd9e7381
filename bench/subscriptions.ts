// The subscriptions benchmark: `npm run bench:subscriptions [-- --sockets 5000 --events 20 --interval-ms 1000
// --query author|plain --database-url URL]`.
//
// Starts the platform in a child process (PLATFORM_ENV=production, a fresh DATA_DIR, free loopback
// ports), opens N graphql-ws sockets on the gateway (guests: the guest role reads posts), each
// subscribed to `postCreated`, then creates posts through the gateway one at a time and measures,
// for every socket, the time from sending `createPost` to receiving the event (mutation, outbox,
// bus, pub/sub, per-delivery authorization, the gateway's completion with identity's `author`,
// and the socket write). Also reads the gateway's own publish → sent histogram from /metrics.
// Prints a table and writes bench/results/subscriptions-<time>.json. See docs/performance.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { latencyStats, round, type LatencyStats } from './lib/load.js';
import { findProfile, summariseProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { processTimes, scrape, sum } from './lib/observe.js';
import { PlatformProcess } from './lib/platform.js';
import { redact, scratchDatabase, type Database } from './lib/database.js';
import { now } from './subscriptions/raw-client.js';
import { measuredSockets, type MeasuredSockets } from './subscriptions/subscribers.js';
import { options, QUERIES, USAGE } from './subscriptions/options.js';
import { graphql, roleChanges, signedInUsers, writerToken } from './subscriptions/accounts.js';
import { newRunId } from './lib/run-id.js';
import { commandLine } from './lib/cli.js';

const ROOT = new URL('..', import.meta.url).pathname;
async function main(): Promise<number> {
  const opts = commandLine(options, USAGE);
  if (!opts) return 2;
  const runId = newRunId();
  mkdirSync(opts.out, { recursive: true });
  let platform: PlatformProcess | undefined;
  /** With --gateway-process: the gateway alone, in front of `platform`'s subgraphs. */
  let gateway: PlatformProcess | undefined;
  let database: Database | undefined;
  let sockets: MeasuredSockets | undefined;
  let check: Client | undefined;
  try {
    if (opts.databaseUrl) database = await scratchDatabase(opts.databaseUrl, runId, 'bench_subs');
    console.log(`starting the platform (${database ? redact(database.url) : 'embedded PGlite'})…`);
    const profileDir = opts.cpuProf ? join(opts.out, `subscriptions-${runId}-cpuprofile`) : null;
    const nodeFlags = profileDir ? ['--cpu-prof', '--cpu-prof-interval', '5000', '--cpu-prof-dir', profileDir] : [];
    platform = await PlatformProcess.start({
      root: ROOT,
      databaseUrl: database?.url ?? null,
      nodeFlags: opts.gatewayProcess ? [] : nodeFlags,
    });
    if (opts.gatewayProcess) {
      console.log('starting the gateway in its own process…');
      gateway = await PlatformProcess.start({ root: ROOT, databaseUrl: null, nodeFlags, gatewayFor: platform });
    }
    /** The process serving the sockets: the one profiled with --cpu-prof and scraped for the gateway's metrics. */
    const front = gateway ?? platform;
    const url = `${front.gatewayUrl}/graphql`;
    const token = await writerToken(url, runId);
    let tokens: string[] | undefined;
    if (opts.callers === 'users') {
      const signing = performance.now();
      tokens = await signedInUsers(url, opts.users, runId);
      console.log(
        `${tokens.length} users registered and signed in in ${round((performance.now() - signing) / 1000)} s`,
      );
    }

    console.log(`opening ${opts.sockets} sockets (${opts.client} client, ${opts.clientWorkers} worker threads)…`);
    const openStarted = performance.now();
    sockets = measuredSockets(
      opts.client,
      {
        url,
        query: QUERIES[opts.query],
        count: opts.sockets,
        firstIndex: 0,
        concurrency: opts.openConcurrency,
        distinct: opts.callers === 'distinct',
        tokens,
      },
      opts.clientWorkers,
    );
    await sockets.open();
    const openSec = (performance.now() - openStarted) / 1000;
    // One real graphql-ws client beside the measured sockets: the gateway's frames must stay valid for it. On
    // `ws` without a user agent, as the measured sockets (with --callers same it joins their group).
    const checked = new Map<string, number>();
    let checkErrors = 0;
    check = await new Promise<Client>((resolve, reject) => {
      const client = createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        onNonLazyError: reject,
        on: { connected: () => resolve(client) },
      });
    });
    check.subscribe<{ postCreated: { id: string; author?: { displayName: string } } }>(
      { query: QUERIES[opts.query] },
      {
        next: (result) => {
          const post = result.data?.postCreated;
          if (post?.id && (opts.query === 'plain' || post.author?.displayName === 'Bench Writer'))
            checked.set(post.id, now());
          else checkErrors++;
        },
        error: () => checkErrors++,
        complete: () => {},
      },
    );

    /** `createdAt` is when blog created the post (its clock, epoch ms): the event's own time. */
    const createPost = async (title: string): Promise<{ id: string; sentAt: number; createdAt: number }> => {
      const sentAt = now();
      const { createPost: post } = await graphql<{ createPost: { id: string; createdAt: string } }>(
        url,
        'mutation ($input: CreatePostInput!) { createPost(input: $input) { id createdAt } }',
        { input: { title, content: 'Subscriptions benchmark' } },
        token,
      );
      return { id: post.id, sentAt, createdAt: Date.parse(post.createdAt) };
    };
    // Warm-up: every upstream subscription is in place once every socket got this one.
    // Then a few more, as the measured ones come, so the first measured event does not pay for
    // compiling the fan-out path or collecting what opening the sockets left behind.
    for (let i = 0; i < opts.warmupEvents; i++) {
      const warm = await createPost(`warm-up ${i}`);
      const warmed = (await sockets.collect(warm.id, 60_000)).times.filter((at) => !Number.isNaN(at)).length;
      if (warmed < sockets.size) console.warn(`warm-up ${i} reached ${warmed}/${sockets.size} sockets`);
      await new Promise((resolve) => setTimeout(resolve, opts.intervalMs));
    }

    const before = await scrape(front.gatewayUrl);
    const platformPids = gateway ? [platform.pid, gateway.pid] : [platform.pid];
    const cpuBefore = processTimes([...platformPids, process.pid]);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const latencies: number[] = [];
    const eventLatencies: number[] = [];
    const rawLatencies: number[] = [];
    const perEvent: Array<{ delivered: number; firstMs: number; p50: number; p99: number; lastMs: number }> = [];
    let missed = 0;
    let checkMissed = 0;
    let errors = 0;
    for (let i = 0; i < opts.events; i++) {
      const started = performance.now();
      const post = await createPost(`event ${i}`);
      const collected = await sockets.collect(post.id, 30_000);
      errors = collected.errors;
      const these = Array.from(collected.times, (at) => at - post.sentAt).filter((ms) => !Number.isNaN(ms));
      // Arrival times are on this process's monotonic clock (`now()`), createdAt on the wall clock.
      const wallOffset = Date.now() - now();
      eventLatencies.push(
        ...Array.from(collected.times, (at) => at + wallOffset - post.createdAt).filter((ms) => !Number.isNaN(ms)),
      );
      if (collected.rawTimes)
        rawLatencies.push(
          ...Array.from(collected.rawTimes, (at) => at - post.sentAt).filter((ms) => !Number.isNaN(ms)),
        );
      missed += sockets.size - these.length;
      latencies.push(...these);
      const stats = latencyStats(these);
      perEvent.push({
        delivered: these.length,
        firstMs: round(Math.min(...these)),
        p50: round(stats.p50),
        p99: round(stats.p99),
        lastMs: round(stats.max),
      });
      const wait = opts.intervalMs - (performance.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // The check socket is its own caller unless --callers same: give it as long as the measured ones.
      const checkDeadline = performance.now() + 30_000;
      while (!checked.has(post.id) && performance.now() < checkDeadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      if (!checked.has(post.id)) checkMissed++;
    }
    const cpuAfter = processTimes([...platformPids, process.pid]);
    const toUs = Number(process.hrtime.bigint() / 1000n);
    const cpu = (pid: number): number | null =>
      cpuBefore.has(pid) && cpuAfter.has(pid) ? round((cpuAfter.get(pid)! - cpuBefore.get(pid)!) * 1000) : null;
    const after = await scrape(front.gatewayUrl);
    const gatewayCount =
      sum(after, 'graphql_subscription_delivery_seconds_count', { field: 'postCreated' }) -
      sum(before, 'graphql_subscription_delivery_seconds_count', { field: 'postCreated' });
    const gatewaySum =
      sum(after, 'graphql_subscription_delivery_seconds_sum', { field: 'postCreated' }) -
      sum(before, 'graphql_subscription_delivery_seconds_sum', { field: 'postCreated' });
    const fanOutCount =
      sum(after, 'graphql_subscription_fanout_seconds_count') -
      sum(before, 'graphql_subscription_fanout_seconds_count');
    const fanOutSum =
      sum(after, 'graphql_subscription_fanout_seconds_sum') - sum(before, 'graphql_subscription_fanout_seconds_sum');
    const overall: LatencyStats = latencyStats(latencies);
    const roundStats = (stats: LatencyStats): Record<string, number> =>
      Object.fromEntries(Object.entries(stats).map(([key, value]) => [key, round(value)]));
    const result = {
      runId,
      machine: { cpus: cpus().length, memoryGiB: round(totalmem() / 2 ** 30), node: process.version },
      options: { ...opts, databaseUrl: opts.databaseUrl ? redact(opts.databaseUrl) : null },
      openSeconds: round(openSec),
      deliveries: latencies.length,
      missed,
      errors,
      graphqlWsCheck: { missed: checkMissed, errors: checkErrors },
      /** createPost sent → the event received: end to end, the mutation's own round trip included. */
      latencyMs: roundStats(overall),
      /** The post's createdAt (blog's clock, ms) → the event received: event → client, what the target is about. */
      eventToClientMs: roundStats(eventLatencies.length ? latencyStats(eventLatencies) : overall),
      /** graphql-ws client only: the same deliveries timed when `ws` handed over the frame, before graphql-ws. */
      rawArrivalLatencyMs: rawLatencies.length ? roundStats(latencyStats(rawLatencies)) : null,
      gatewayPublishToSentMeanMs: gatewayCount ? round((gatewaySum / gatewayCount) * 1000) : null,
      /** The gateway's write of one event to all sockets of a group (serialize + writes), mean over group events. */
      gatewayFanOutMeanMs: fanOutCount ? round((fanOutSum / fanOutCount) * 1000) : null,
      /**
       * CPU ms per event over the measured events: the platform (with --gateway-process, its two
       * processes, and the gateway's alone) and this benchmark process.
       */
      cpuMsPerEvent: {
        platform: platformPids.reduce((total, pid) => total + (cpu(pid) ?? Number.NaN), 0) / opts.events,
        ...(gateway ? { gateway: (cpu(gateway.pid) ?? Number.NaN) / opts.events } : {}),
        benchmark: (cpu(process.pid) ?? Number.NaN) / opts.events,
      },
      perEvent,
      profile: undefined as ProfileSummary | undefined,
    };
    console.log(
      `\n${opts.sockets} sockets (${opts.callers} callers, ${opts.client} client, ${opts.clientWorkers} workers${gateway ? ', gateway in its own process' : ''}), ${opts.events} events, query=${opts.query}; opened in ${result.openSeconds} s`,
    );
    console.log(
      `deliveries ${result.deliveries}, missed ${missed}, errors ${errors}; graphql-ws check socket: missed ${checkMissed}, errors ${checkErrors}`,
    );
    console.log(
      `createPost sent → event received (ms): p50 ${result.latencyMs.p50}  p90 ${result.latencyMs.p90}  p99 ${result.latencyMs.p99}  max ${result.latencyMs.max}`,
    );
    console.log(
      `post created (createdAt) → event received (ms): p50 ${result.eventToClientMs.p50}  p90 ${result.eventToClientMs.p90}  p99 ${result.eventToClientMs.p99}  max ${result.eventToClientMs.max}`,
    );
    if (result.rawArrivalLatencyMs)
      console.log(
        `  same frames at raw ws arrival (ms): p50 ${result.rawArrivalLatencyMs.p50}  p90 ${result.rawArrivalLatencyMs.p90}  p99 ${result.rawArrivalLatencyMs.p99}`,
      );
    console.log(
      `gateway publish → sent, mean (ms): ${result.gatewayPublishToSentMeanMs}; of which writing to a group's sockets: ${result.gatewayFanOutMeanMs}`,
    );
    console.log(
      `CPU ms per event: platform ${round(result.cpuMsPerEvent.platform)}${gateway ? ` (gateway ${round(result.cpuMsPerEvent.gateway!)})` : ''}, benchmark ${round(result.cpuMsPerEvent.benchmark)}`,
    );
    if (opts.roleChange) {
      if (!database) throw new Error('--role-change needs --database-url');
      const changes = await roleChanges(database.url, url, token, createPost, sockets);
      Object.assign(result, { roleChange: changes });
      for (const [change, stats] of Object.entries(changes))
        console.log(
          `post right after the user role ${change === 'granted' ? 'gained' : 'lost'} a permission: delivered ${stats.delivered}/${sockets.size}, createPost → event p50 ${stats.p50}  p99 ${stats.p99}  max ${stats.max} ms`,
        );
    }
    for (const [name, process_] of Object.entries({ platform, gateway })) {
      const logs = process_?.logSummary();
      if (!logs?.messages.length) continue;
      console.log(`${name} warnings and errors:`);
      for (const message of logs.messages) console.log(`  ${JSON.stringify(message)}`);
    }
    if (profileDir) {
      const pid = front.pid;
      await front.stop(); // the profile is written on exit
      if (gateway) gateway = undefined;
      else platform = undefined;
      const profileFile = findProfile(profileDir, pid);
      if (profileFile) {
        result.profile = summariseProfile(profileFile, fromUs, toUs);
        console.log(
          `${gateway ? 'gateway' : 'platform'} main thread during the events (${round(result.profile.totalMs)} ms of samples, self):`,
        );
        for (const { category, ms, share } of result.profile.self.slice(0, 12))
          console.log(`  ${category.padEnd(40)} ${String(round(ms)).padStart(8)} ms  ${(share * 100).toFixed(1)} %`);
      } else console.warn(`no .cpuprofile was written to ${profileDir}`);
    }
    const file = join(opts.out, `subscriptions-${runId}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${relative(ROOT, file)}`);
    return missed === 0 && checkMissed === 0 && checkErrors === 0 ? 0 : 1;
  } finally {
    await check?.dispose();
    await sockets?.close();
    await gateway?.stop();
    await platform?.stop();
    await database
      ?.drop()
      .catch((error: Error) => console.warn(`could not drop the scratch database: ${error.message}`));
  }
}

process.exitCode = await main();
