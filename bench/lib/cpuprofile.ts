// Where the platform's main thread spent a step, from a V8 .cpuprofile (`node --cpu-prof`).
// Only the main thread is profiled: argon2 runs on libuv's pool and shows up here as idle time.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Categories, first match wins, tried on the sampled frame and then up its (synchronous) stack.
 * Service code is named by its own files; libraries only one service uses are named after it.
 */
const CATEGORIES: Array<[string, (url: string, fn: string) => boolean]> = [
  ['gc', (_url, fn) => fn === '(garbage collector)'],
  ['idle', (_url, fn) => fn === '(idle)'],
  ['v8/native (program)', (_url, fn) => fn === '(program)'],
  ['database: PGlite (WASM Postgres)', (url) => url.includes('/@electric-sql/pglite/') || url.startsWith('wasm://')],
  ['database: pg driver', (url) => /\/node_modules\/(pg|pg-protocol|pg-pool)\//.test(url)],
  ['ORM: MikroORM + knex', (url) => /\/node_modules\/(@mikro-orm\/|knex\/)/.test(url)],
  [
    'gateway: query planning + federation',
    (url) => /\/node_modules\/@apollo\/(gateway|query-planner|federation-internals|composition)\//.test(url),
  ],
  ['gateway: own code', (url) => url.includes('/gateway/src/')],
  ['identity: own code', (url) => url.includes('/subgraphs/identity/src/')],
  ['audit: own code', (url) => url.includes('/subgraphs/audit/src/')],
  ['authz + blog: own code', (url) => /\/subgraphs\/(authz|blog)\/src\//.test(url)],
  ['kernel', (url) => url.includes('/kernel/src/')],
  ['argon2 (JS side)', (url) => url.includes('/node_modules/argon2/')],
  ['JWT: jose', (url) => url.includes('/node_modules/jose/')],
  ['logging: pino', (url) => /\/node_modules\/pino/.test(url)],
  ['metrics: prom-client', (url) => url.includes('/node_modules/prom-client/')],
  ['tracing: OpenTelemetry', (url) => url.includes('/node_modules/@opentelemetry/')],
  [
    'GraphQL execution (shared)',
    (url) => /\/node_modules\/(graphql|@apollo\/server|@apollo\/subgraph|type-graphql|@graphql-tools)\//.test(url),
  ],
  [
    'HTTP server + client',
    (url) =>
      /\/node_modules\/(express|router|body-parser|undici|compression|cors)\//.test(url) || /^node:(_)?http/.test(url),
  ],
];

export interface ProfileSummary {
  file: string;
  /** Whether samples were cut to the step's window (false: the whole run). */
  windowed: boolean;
  /** ms of main-thread samples in the window. */
  totalMs: number;
  /** Category → ms, by the leaf frame (self time), largest first. */
  self: Array<{ category: string; ms: number; share: number }>;
}

/** The main thread's profile of process `pid` in `dir` (`CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`, thread 0). */
export function findProfile(dir: string, pid: number): string | null {
  try {
    const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile') && name.includes(`.${pid}.0.`));
    return file ? join(dir, file) : null;
  } catch {
    return null;
  }
}

/**
 * Self time by category within [fromUs, toUs] (the V8 clock is CLOCK_MONOTONIC in µs, as
 * process.hrtime in another process on the same machine).
 */
export function summariseProfile(file: string, fromUs: number, toUs: number): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const categoryOf = new Map<number, string>();
  const categorise = (id: number): string => {
    const known = categoryOf.get(id);
    if (known) return known;
    let category = 'other (node internals, libraries)';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName } = byId.get(at)!.callFrame;
      const match = CATEGORIES.find(([, test]) => test(url, functionName));
      if (match) {
        category = match[0];
        break;
      }
    }
    categoryOf.set(id, category);
    return category;
  };

  const windowed = profile.startTime <= fromUs && toUs <= profile.endTime;
  const totals = new Map<string, number>();
  let time = profile.startTime;
  let total = 0;
  for (let i = 0; i < profile.samples.length; i += 1) {
    const delta = profile.timeDeltas[i] ?? 0;
    time += delta;
    if (windowed && (time < fromUs || time > toUs)) continue;
    // A sample's weight is the interval until the next one.
    const weight = profile.timeDeltas[i + 1] ?? delta;
    const category = categorise(profile.samples[i]!);
    totals.set(category, (totals.get(category) ?? 0) + weight);
    total += weight;
  }
  return {
    file,
    windowed,
    totalMs: total / 1000,
    self: [...totals]
      .map(([category, us]) => ({ category, ms: us / 1000, share: total ? us / total : 0 }))
      .sort((a, b) => b.ms - a.ms),
  };
}
