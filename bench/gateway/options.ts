// Options of the gateway benchmark (`npm run bench -- <scenario> [options]`).
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const USAGE = `Usage: npm run bench -- <scenario> [options]
Scenarios (cases of the gateway benchmark; several as a comma list, e.g. direct,single-hop):
  ceiling      1. bare node:http server, fixed JSON body
  direct       2. the blog subgraph, posts(first: 20) { edges { node { id title } } }
  single-hop   3. the same through our gateway
  join         4. the same with author { id displayName } (identity), through our gateway
  stock, hive  5. the page and the join through stock @apollo/gateway / Hive Gateway
  login        6. logins at 40/s (paced) through our gateway
  auth         7. the page with a signed-in user's token vs anonymous
  gateways     2–5; all: 1–7 and rewrites docs/performance.md; smoke: 1–7 for ~1 s each on tiny data
  login-detail the older detailed login benchmark (bench/login.ts, same as npm run bench:login)
  permissions  the permission-check benchmark (bench/permissions.ts)
  tuning       isolated A/B of tunings: token cache, subgraph fetcher, cache-control plugin (bench/tuning.ts)
Options:
  --duration S        seconds per measured run (default 10; smoke 0.5)
  --warmup S          seconds of warm-up per case before the first run (default 10; smoke none)
  --runs N            measured runs per case, alternating between cases (default 3; smoke 1)
  --connections N     connections of the closed-loop cases (default 10; smoke 2)
  --users N, --posts N  seeded data (default 1000 and 10000; smoke 20 and 100)
  --database-url URL  PostgreSQL server (default DATABASE_URL, else embedded PGlite); a scratch
                      database is created on it and dropped at the end
  --env KEY=VALUE     extra environment for our gateway and the subgraphs (A/B of a tuning), repeatable
  --cpu-prof          profile our gateway's main thread (.cpuprofile in the results folder)
  --docs / --no-docs  rewrite the benchmark's section of docs/performance.md (default: only with all)
  --out DIR           where the JSON goes (default bench/results; smoke: a temporary folder)`;

export interface BenchOptions {
  smoke: boolean;
  duration: number;
  warmup: number;
  runs: number;
  connections: number;
  users: number;
  posts: number;
  databaseUrl: string | null;
  env: Record<string, string>;
  gatewayNodeFlags: string[];
  writeDocs: boolean;
  out: string;
}

export function parseOptions(scenario: string, args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      runs: { type: 'string' },
      connections: { type: 'string' },
      users: { type: 'string' },
      posts: { type: 'string' },
      'database-url': { type: 'string' },
      env: { type: 'string', multiple: true },
      'cpu-prof': { type: 'boolean' },
      docs: { type: 'boolean' },
      'no-docs': { type: 'boolean' },
      out: { type: 'string' },
    },
  });
  const smoke = scenario === 'smoke';
  const number = (name: string, value: string | undefined, fallback: number, min: number): number => {
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min) throw new Error(`--${name} must be a number ≥ ${min}`);
    return parsed;
  };
  const out = values.out
    ? resolve(values.out)
    : smoke
      ? join(tmpdir(), 'platform-bench-smoke')
      : join(ROOT, 'bench', 'results');
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--env takes KEY=VALUE, not "${pair}"`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    smoke,
    duration: number('duration', values.duration, smoke ? 0.5 : 10, 0.5),
    warmup: number('warmup', values.warmup, smoke ? 0 : 10, 0),
    runs: Math.round(number('runs', values.runs, smoke ? 1 : 3, 1)),
    connections: Math.round(number('connections', values.connections, smoke ? 2 : 10, 1)),
    users: Math.round(number('users', values.users, smoke ? 20 : 1000, 1)),
    posts: Math.round(number('posts', values.posts, smoke ? 100 : 10_000, 20)),
    databaseUrl: values['database-url'] ?? (process.env.DATABASE_URL || null),
    env,
    gatewayNodeFlags: values['cpu-prof']
      ? ['--cpu-prof', '--cpu-prof-interval', '1000', '--cpu-prof-dir', join(out, 'cpuprofile')]
      : [],
    writeDocs: values['no-docs'] ? false : (values.docs ?? scenario === 'all'),
    out,
  };
}
