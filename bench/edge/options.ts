// Command-line options of the edge benchmark.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const USAGE = `Usage: npm run bench:edge -- [options]
  --duration S        seconds of each phase: the normal client alone, then under attack (default 20)
  --rate N            the normal client's requests per second, paced (default 20)
  --posts N           posts of the seeded author (default 100: what makes the 10^6-post query real)
  --attack-rate N     requests per second of each HTTP attack in the measured phase (default 25,
                      seven attacks: 175/s from one address)
  --no-flood          skip the informational phase where every attack runs as fast as answered
  --sockets N         WebSockets the attacker tries to open (default 2000)
  --subscriptions N   subscriptions it then tries over them (default 10000)
  --p95 MS            the normal client's p95 target under attack (default 100)
  --database-url URL  PostgreSQL server (default: DATABASE_URL, else embedded PGlite); a fresh
                      database is made on it and dropped at the end
  --gateway-process   the gateway in its own process in front of the platform's subgraphs (as deployed)
  --smoke             a short run for the test suite (checks the harness, not the numbers)
  --out DIR           where results go (default bench/results)`;

export interface Options {
  duration: number;
  rate: number;
  posts: number;
  attackRate: number;
  flood: boolean;
  sockets: number;
  subscriptions: number;
  p95: number;
  databaseUrl: string | null;
  gatewayProcess: boolean;
  smoke: boolean;
  out: string;
}

export function options(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      rate: { type: 'string' },
      posts: { type: 'string' },
      'attack-rate': { type: 'string' },
      'no-flood': { type: 'boolean' },
      sockets: { type: 'string' },
      subscriptions: { type: 'string' },
      p95: { type: 'string' },
      'database-url': { type: 'string' },
      'gateway-process': { type: 'boolean' },
      smoke: { type: 'boolean' },
      out: { type: 'string' },
    },
  });
  const smoke = values.smoke ?? false;
  const number = (name: string, value: string | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not ${value}`);
    return n;
  };
  return {
    duration: number('duration', values.duration, smoke ? 2 : 20),
    rate: number('rate', values.rate, smoke ? 5 : 20),
    posts: number('posts', values.posts, smoke ? 5 : 100),
    attackRate: number('attack-rate', values['attack-rate'], 25),
    flood: !values['no-flood'],
    sockets: number('sockets', values.sockets, smoke ? 120 : 2000),
    subscriptions: number('subscriptions', values.subscriptions, smoke ? 600 : 10_000),
    p95: number('p95', values.p95, 100),
    databaseUrl: values['database-url'] ?? process.env.DATABASE_URL ?? null,
    gatewayProcess: values['gateway-process'] ?? false,
    smoke,
    out: resolve(values.out ?? join(ROOT, 'bench', 'results')),
  };
}
