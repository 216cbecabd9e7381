// The password hash alone: `npm run bench:argon2 [-- --rate 40 --seconds 20]`.
//
// The login target (p95 < 100 ms at 40 logins/s on this machine) spends most of its CPU in one
// argon2id verification per login. This measures that verification by itself, through identity's
// own PasswordHasher (its default parameters, OWASP's minimum m=19456 KiB, t=2, p=1, and its
// bound of one hash per core), with nothing else running in the process:
//  1. capacity: 200 verifications queued at once → verifications per second the machine does;
//  2. paced: `rate` verifications per second, one every 1000/rate ms, for `seconds` → latency of
//     each (queueing included) and the CPU the process used.
// What is left of the machine for everything else a login does (gateway, GraphQL, database,
// audit) is the difference; docs/performance.md "Login" quotes the numbers.
import { writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PasswordHasher } from '../subgraphs/identity/src/password/hasher.js';
import { latencyStats, round } from './lib/load.js';
import { newRunId } from './lib/run-id.js';

const ROOT = new URL('..', import.meta.url).pathname;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '40' },
    seconds: { type: 'string', default: '20' },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
if (!(rate > 0) || !(seconds > 0)) throw new Error('--rate and --seconds must be positive numbers');

const hasher = new PasswordHasher();
const password = 'correct horse battery staple';
const hash = await hasher.hash(password);
for (let i = 0; i < 5; i++) await hasher.verify(hash, password); // warm-up

const cpuSeconds = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

let started = performance.now();
let cpuBefore = cpuSeconds();
await Promise.all(Array.from({ length: 200 }, () => hasher.verify(hash, password)));
const capacityWall = (performance.now() - started) / 1000;
const capacity = {
  verifiesPerSecond: round(200 / capacityWall),
  cpuMsPerVerify: round(((cpuSeconds() - cpuBefore) / 200) * 1000),
};

const latencies: number[] = [];
const count = Math.round(rate * seconds);
started = performance.now();
cpuBefore = cpuSeconds();
await Promise.all(
  Array.from(
    { length: count },
    (_, i) =>
      new Promise<void>((resolve, reject) => {
        setTimeout(
          () => {
            const at = performance.now();
            hasher.verify(hash, password).then((ok) => {
              if (!ok) reject(new Error('verification failed'));
              latencies.push(performance.now() - at);
              resolve();
            }, reject);
          },
          (i * 1000) / rate,
        );
      }),
  ),
);
const wall = (performance.now() - started) / 1000;
const stats = latencyStats(latencies);
const paced = {
  rate,
  seconds,
  achievedPerSecond: round(count / wall),
  latencyMs: { p50: round(stats.p50), p95: round(stats.p95), p99: round(stats.p99), max: round(stats.max) },
  cores: round((cpuSeconds() - cpuBefore) / wall),
};

const result = {
  runId: newRunId(),
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    memoryGiB: round(totalmem() / 2 ** 30),
    node: process.version,
  },
  params: hasher.params,
  concurrentHashes: availableParallelism(),
  capacity,
  paced,
};
console.log(
  `argon2id m=${hasher.params.memoryCost} t=${hasher.params.timeCost} p=${hasher.params.parallelism}, ${result.concurrentHashes} at once`,
);
console.log(`capacity: ${capacity.verifiesPerSecond} verifications/s (${capacity.cpuMsPerVerify} ms of CPU each)`);
console.log(
  `paced ${rate}/s for ${seconds} s: p50 ${paced.latencyMs.p50} ms, p95 ${paced.latencyMs.p95} ms, p99 ${paced.latencyMs.p99} ms; ${paced.cores} cores busy`,
);
mkdirSync(values.out!, { recursive: true });
const file = join(values.out!, `argon2-${result.runId}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${file}`);
