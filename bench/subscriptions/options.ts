// The subscriptions benchmark's command line (see bench/subscriptions.ts).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ClientKind } from './subscribers.js';

const ROOT = new URL('../..', import.meta.url).pathname;
export const USAGE = `usage: npm run bench:subscriptions -- [--sockets 5000] [--events 20] [--warmup-events 3] [--interval-ms 1000]
  [--query author|plain] [--callers same|distinct|users] [--users N] [--client wire|raw|graphql-ws] [--client-workers 0]
  [--open-concurrency 200] [--cpu-prof] [--database-url postgres://…] [--role-change] [--gateway-process]
  [--out bench/results]`;

export const QUERIES = {
  author: 'subscription { postCreated { id title author { id displayName } } }',
  plain: 'subscription { postCreated { id title } }',
};

export interface Options {
  sockets: number;
  events: number;
  /** Events sent before the measured ones (the first also proves every subscription is in place). */
  warmupEvents: number;
  intervalMs: number;
  query: keyof typeof QUERIES;
  /**
   * same: every socket a guest with the same address and agent; distinct: guests with a
   * different user agent per socket; users: every socket signed in, as one of `users` accounts
   * registered for the run (each with its own token and session).
   */
  callers: 'same' | 'distinct' | 'users';
  /** With `--callers users`: how many accounts (default: one per socket). */
  users: number;
  /**
   * wire (default): minimal graphql-transport-ws clients on the benchmark's lean WebSocket; raw:
   * the same clients on `ws`; graphql-ws: one createClient per socket.
   */
  client: ClientKind;
  /** wire and raw only: threads the measured sockets are spread over (0: the main thread). */
  clientWorkers: number;
  openConcurrency: number;
  /** Profile the platform's main thread; the summary covers the measured events. */
  cpuProf: boolean;
  /**
   * After the measured events (PostgreSQL only): the `user` role gains a permission, then loses
   * it again, and a post goes out right after each change. Every cached permission set is
   * dropped, so the gateway looks every caller's set up again and moves them: what those two
   * posts' latencies show.
   */
  roleChange: boolean;
  /**
   * The gateway in its own process in front of the platform's subgraphs, as deployed (a container
   * per service), instead of the one process `npm start` runs. With REDIS_URL set, both processes
   * use it for the bus and pub/sub (without it, the gateway hears no authz events: --role-change
   * then needs it).
   */
  gatewayProcess: boolean;
  databaseUrl: string | null;
  out: string;
}

/** The options both subscriptions benchmarks (this one and the floor) take, with their defaults. */
export const RUN_ARGS = {
  sockets: { type: 'string', default: '5000' },
  events: { type: 'string', default: '20' },
  'warmup-events': { type: 'string', default: '3' },
  'interval-ms': { type: 'string', default: '1000' },
} as const;

export function options(): Options {
  const { values } = parseArgs({
    options: {
      ...RUN_ARGS,
      query: { type: 'string', default: 'author' },
      callers: { type: 'string', default: 'same' },
      users: { type: 'string' },
      client: { type: 'string', default: 'wire' },
      'client-workers': { type: 'string', default: '0' },
      'open-concurrency': { type: 'string', default: '200' },
      'cpu-prof': { type: 'boolean', default: false },
      'role-change': { type: 'boolean', default: false },
      'gateway-process': { type: 'boolean', default: false },
      'database-url': { type: 'string' },
      out: { type: 'string', default: join(ROOT, 'bench/results') },
    },
  });
  const int = (name: string, value: string | undefined): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`--${name} must be a positive integer`);
    return parsed;
  };
  if (!(values.query! in QUERIES)) throw new Error('--query must be author or plain');
  if (values.callers !== 'same' && values.callers !== 'distinct' && values.callers !== 'users') {
    throw new Error('--callers must be same, distinct or users');
  }
  if (values.client !== 'wire' && values.client !== 'raw' && values.client !== 'graphql-ws') {
    throw new Error('--client must be wire, raw or graphql-ws');
  }
  if (values['role-change'] && values['gateway-process'] && !process.env.REDIS_URL)
    throw new Error('--role-change with --gateway-process needs REDIS_URL (the gateway hears authz events through it)');
  const clientWorkers = Number(values['client-workers']);
  if (!Number.isInteger(clientWorkers) || clientWorkers < 0) throw new Error('--client-workers must be 0 or more');
  return {
    sockets: int('sockets', values.sockets),
    events: int('events', values.events),
    warmupEvents: int('warmup-events', values['warmup-events']),
    intervalMs: int('interval-ms', values['interval-ms']),
    query: values.query as keyof typeof QUERIES,
    callers: values.callers,
    users: int('users', values.users ?? values.sockets),
    client: values.client,
    clientWorkers,
    openConcurrency: int('open-concurrency', values['open-concurrency']),
    cpuProf: values['cpu-prof']!,
    roleChange: values['role-change']!,
    gatewayProcess: values['gateway-process']!,
    databaseUrl: values['database-url'] ?? null,
    out: values.out!,
  };
}
