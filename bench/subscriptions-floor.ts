// The fan-out floor of this machine: `npm run bench:subscriptions:floor [-- --sockets 5000 --events 20
// --warmup-events 3 --interval-ms 1000 --keep-alive-ms 12000 --client wire|raw --client-workers 0 --out bench/results]`.
//
// The same measured sockets as `bench:subscriptions` (bench/subscriptions/subscribers.ts), against
// a server that does nothing but write one pre-serialized frame to each of them
// (bench/subscriptions/floor-server.ts, its own process as the platform is). Time is from the start
// of the server's write loop to each frame's arrival in the client. No server can deliver an event
// to N sockets faster than that on this machine with this client, so the floor tells how much of the
// subscriptions benchmark's latency is the platform's, and how much the machine's. Prints a summary
// and writes bench/results/subscriptions-floor-<time>.json. See docs/performance.md.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { latencyStats, round, type LatencyStats } from './lib/load.js';
import { processTimes } from './lib/observe.js';
import { newRunId } from './lib/run-id.js';
import { commandLine } from './lib/cli.js';
import { clockBase } from './subscriptions/clock.js';
import type { FromFloorServer, ToFloorServer } from './subscriptions/floor-server.js';
import { QUERIES, RUN_ARGS } from './subscriptions/options.js';
import { measuredSockets, type ClientKind, type MeasuredSockets } from './subscriptions/subscribers.js';

const ROOT = new URL('..', import.meta.url).pathname;
const USAGE = `usage: npm run bench:subscriptions:floor -- [--sockets 5000] [--events 20] [--warmup-events 3]
  [--interval-ms 1000] [--keep-alive-ms 12000] [--client wire|raw] [--client-workers 0] [--out bench/results]`;

interface FloorOptions {
  sockets: number;
  events: number;
  warmupEvents: number;
  intervalMs: number;
  /** The server's ping interval (0: none); the platform's default is 12000 (gateway.subscriptions.keepAliveMs). */
  keepAliveMs: number;
  client: Exclude<ClientKind, 'graphql-ws'>;
  clientWorkers: number;
  out: string;
}

function options(): FloorOptions {
  const { values } = parseArgs({
    options: {
      ...RUN_ARGS,
      'keep-alive-ms': { type: 'string', default: '12000' },
      client: { type: 'string', default: 'wire' },
      'client-workers': { type: 'string', default: '0' },
      out: { type: 'string', default: join(ROOT, 'bench/results') },
    },
  });
  const count = (name: string, value: string | undefined, min: number): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return parsed;
  };
  if (values.client !== 'wire' && values.client !== 'raw') throw new Error('--client must be wire or raw');
  return {
    sockets: count('sockets', values.sockets, 1),
    events: count('events', values.events, 1),
    warmupEvents: count('warmup-events', values['warmup-events'], 0),
    intervalMs: count('interval-ms', values['interval-ms'], 1),
    keepAliveMs: count('keep-alive-ms', values['keep-alive-ms'], 0),
    client: values.client,
    clientWorkers: count('client-workers', values['client-workers'], 0),
    out: values.out!,
  };
}

/** The floor server in its own process; `send` resolves with when its write loop started and how long it took. */
class FloorServer {
  readonly #child: ChildProcess;
  readonly #sent = new Map<string, (message: FromFloorServer & { type: 'sent' }) => void>();
  readonly port: Promise<number>;

  constructor(keepAliveMs: number) {
    this.#child = fork(join(ROOT, 'bench/subscriptions/floor-server.ts'), [String(keepAliveMs), String(clockBase())], {
      cwd: ROOT,
      execArgv: ['--import', './scripts/register.mjs'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.port = new Promise((resolve, reject) => {
      this.#child.once('exit', (code) => reject(new Error(`the floor server exited with ${code}`)));
      this.#child.on('message', (message: FromFloorServer) => {
        if (message.type === 'listening') resolve(message.port);
        else this.#sent.get(message.id)?.(message);
      });
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  send(id: string): Promise<FromFloorServer & { type: 'sent' }> {
    return new Promise((resolve) => {
      this.#sent.set(id, (message) => {
        this.#sent.delete(id);
        resolve(message);
      });
      this.#child.send({ type: 'send', id } satisfies ToFloorServer);
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.send({ type: 'stop' } satisfies ToFloorServer);
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
  const opts = commandLine(options, USAGE);
  if (!opts) return 2;
  const runId = newRunId();
  mkdirSync(opts.out, { recursive: true });
  const server = new FloorServer(opts.keepAliveMs);
  let sockets: MeasuredSockets | undefined;
  try {
    const url = `http://127.0.0.1:${await server.port}/graphql`;
    console.log(`opening ${opts.sockets} sockets on the floor server (${opts.client} client)…`);
    sockets = measuredSockets(
      opts.client,
      {
        url,
        query: QUERIES.author,
        count: opts.sockets,
        firstIndex: 0,
        concurrency: 200,
        distinct: false,
      },
      opts.clientWorkers,
    );
    await sockets.open();
    const deliver = async (id: string): Promise<{ latencies: number[]; writeMs: number; missed: number }> => {
      const collecting = sockets!.collect(id, 30_000);
      const sent = await server.send(id);
      const { times } = await collecting;
      const latencies = Array.from(times, (at) => at - sent.at).filter((ms) => !Number.isNaN(ms));
      return { latencies, writeMs: sent.writeMs, missed: opts.sockets - latencies.length };
    };
    for (let i = 0; i < opts.warmupEvents; i++) {
      await deliver(`warm-up-${i}`);
      await sleep(opts.intervalMs);
    }
    const latencies: number[] = [];
    const writes: number[] = [];
    let missed = 0;
    const cpuBefore = processTimes([server.pid, process.pid]);
    for (let i = 0; i < opts.events; i++) {
      const started = performance.now();
      const result = await deliver(`event-${i}`);
      latencies.push(...result.latencies);
      writes.push(result.writeMs);
      missed += result.missed;
      const wait = opts.intervalMs - (performance.now() - started);
      if (wait > 0) await sleep(wait);
    }
    const cpuAfter = processTimes([server.pid, process.pid]);
    const cpu = (pid: number): number =>
      round(((cpuAfter.get(pid) ?? Number.NaN) - (cpuBefore.get(pid) ?? Number.NaN)) * 1000) / opts.events;
    const stats: LatencyStats = latencyStats(latencies);
    const rounded = Object.fromEntries(Object.entries(stats).map(([key, value]) => [key, round(value)]));
    const result = {
      runId,
      machine: {
        cpus: cpus().length,
        memoryGiB: round(totalmem() / 2 ** 30),
        node: process.version,
        loadavg: loadavg(),
      },
      options: opts,
      deliveries: latencies.length,
      missed,
      /** Start of the server's write loop → the frame read by the client. */
      writeToClientMs: rounded,
      /** The server's loop writing one frame to every socket, mean per event. */
      writeLoopMeanMs: round(writes.reduce((total, ms) => total + ms, 0) / writes.length),
      cpuMsPerEvent: { server: round(cpu(server.pid)), benchmark: round(cpu(process.pid)) },
    };
    console.log(
      `\n${opts.sockets} sockets (${opts.client} client, ${opts.clientWorkers} workers, pings every ${opts.keepAliveMs} ms), ${opts.events} events: deliveries ${result.deliveries}, missed ${missed}`,
    );
    console.log(
      `write loop start → frame received (ms): p50 ${rounded.p50}  p90 ${rounded.p90}  p99 ${rounded.p99}  max ${rounded.max}`,
    );
    console.log(`server write loop, mean (ms): ${result.writeLoopMeanMs}`);
    console.log(`CPU ms per event: server ${result.cpuMsPerEvent.server}, benchmark ${result.cpuMsPerEvent.benchmark}`);
    const file = join(opts.out, `subscriptions-floor-${runId}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${relative(ROOT, file)}`);
    return missed === 0 ? 0 : 1;
  } finally {
    await sockets?.close().catch(() => {});
    await server.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
