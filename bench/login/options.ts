// Command-line and BENCH_* options of the login benchmark.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const USAGE = `Usage: npm run bench:login -- [options]   (each option also as BENCH_<NAME>, e.g. BENCH_RATE=40)
  --rate N            target logins per second (default 40)
  --extra-rates LIST  informational paced steps after the target, e.g. 20,30,80; 0 for none
                      (default 2 × rate, to show where saturation begins)
  --duration S        seconds per measured step (default 30)
  --warmup S          seconds of warm-up at the target rate, not measured (default 5)
  --users N           users registered and logged in round-robin (default 50)
  --connections N     connections of the autocannon overallRate step (default 10)
  --no-burst          skip the autocannon overallRate step
  --p95 MS            the p95 target in ms (default 100)
  --database-url URL  PostgreSQL server (default: DATABASE_URL, else embedded PGlite); the benchmark
                      creates a fresh database on it and drops it at the end
  --split-gateway     also run a standalone gateway (gateway/src/main.ts) in its own process in front of
                      the platform's subgraphs and send the load there: the CPU split between the gateway
                      and the subgraphs is then measured per process (not how \`npm start\` runs)
  --cpu-prof          profile the platform's main thread and summarise it per category
  --out DIR           where results go (default bench/results)`;

export interface Options {
  rate: number;
  extraRates: number[];
  duration: number;
  warmup: number;
  users: number;
  connections: number;
  burst: boolean;
  p95: number;
  databaseUrl: string | null;
  cpuProf: boolean;
  splitGateway: boolean;
  out: string;
}

export function options(): Options {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string' },
      'extra-rates': { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      users: { type: 'string' },
      connections: { type: 'string' },
      'no-burst': { type: 'boolean' },
      p95: { type: 'string' },
      'database-url': { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'split-gateway': { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const env = (name: string): string | undefined => process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
  const number = (name: keyof typeof values, fallback: number, min: number): number => {
    const raw = (values[name] as string | undefined) ?? env(name);
    const value = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
    return value;
  };
  const rateList = (name: keyof typeof values, fallback: number[]): number[] => {
    const raw = (values[name] as string | undefined) ?? env(name);
    if (raw === undefined) return fallback;
    const list = raw.split(',').map((item) => Number(item.trim()));
    if (list.some((value) => !Number.isInteger(value) || value < 0)) {
      throw new UsageError(`--${name} must be a comma-separated list of integers`);
    }
    return list.filter((value) => value > 0);
  };
  const flag = (name: keyof typeof values): boolean => Boolean(values[name]) || /^(1|true|yes)$/i.test(env(name) ?? '');
  const rate = number('rate', 40, 1);
  return {
    rate,
    extraRates: rateList('extra-rates', [2 * rate]),
    duration: number('duration', 30, 1),
    warmup: number('warmup', 5, 0),
    users: number('users', 50, 1),
    connections: number('connections', 10, 1),
    burst: !flag('no-burst'),
    p95: number('p95', 100, 1),
    databaseUrl:
      (values['database-url'] as string | undefined) ?? env('database-url') ?? process.env.DATABASE_URL ?? null,
    cpuProf: flag('cpu-prof'),
    splitGateway: flag('split-gateway'),
    out: resolve(ROOT, (values.out as string | undefined) ?? env('out') ?? 'bench/results'),
  };
}

class UsageError extends Error {}
