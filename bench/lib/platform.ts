// The platform under test, started the way `npm start` starts it but in a child process, so the
// load generator never competes with it for an event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** identity's key-encryption key for this benchmark run: the platform's and the seeding's. */
export const BENCH_KEY_ENCRYPTION_KEY = randomBytes(32).toString('base64');
export const SERVICES = ['identity', 'authz', 'audit', 'blog'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface PlatformProcessOptions {
  /** Repository root (where scripts/register.mjs is). */
  root: string;
  /** null: embedded PGlite under the temp data dir. */
  databaseUrl: string | null;
  /** Extra node flags for the child, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  nodeFlags?: string[];
  logLevel?: string;
  readyTimeoutMs?: number;
  /** A DATA_DIR prepared beforehand (e.g. seeded embedded databases); default: a fresh temporary one. Removed at stop either way. */
  dataDir?: string;
  /** Extra environment for the child (e.g. tuning switches). */
  env?: NodeJS.ProcessEnv;
  /**
   * Only a gateway (`gateway/src/main.ts`) in front of another platform's subgraphs, in its own
   * process: its CPU time is then the gateway's alone.
   */
  gatewayFor?: PlatformProcess;
}

export interface LogSummary {
  /** pino level name → lines. */
  levels: Record<string, number>;
  /** Distinct warn/error messages with their count and first line (at most 20). */
  messages: Array<{ level: string; msg: string; count: number; first: string }>;
  /** Lines that were not JSON (stack traces, the start banner). */
  other: number;
}

export class PlatformProcess {
  readonly gatewayUrl: string;
  readonly serviceUrls: Record<ServiceName, string>;
  readonly dataDir: string;
  readonly pid: number;
  readonly ports: Record<'gateway' | ServiceName, number>;
  /** The deployment's service secret: a gateway started for this platform shares it. */
  readonly serviceSecret: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #exitCode: number | null | undefined;
  readonly #tail: string[] = [];
  readonly #levels: Record<string, number> = {};
  readonly #messages = new Map<string, { level: string; msg: string; count: number; first: string }>();
  #otherLines = 0;

  private constructor(
    child: ChildProcess,
    dataDir: string,
    ports: Record<'gateway' | ServiceName, number>,
    serviceSecret: string,
  ) {
    this.serviceSecret = serviceSecret;
    this.#child = child;
    this.pid = child.pid!;
    this.ports = ports;
    this.dataDir = dataDir;
    this.gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
    this.serviceUrls = Object.fromEntries(SERVICES.map((name) => [name, `http://127.0.0.1:${ports[name]}`])) as Record<
      ServiceName,
      string
    >;
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#exitCode = code ?? (signal ? null : 0);
        resolve(this.#exitCode);
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.#record(line);
      });
    }
  }

  /**
   * Starts `scripts/src/start.ts` (or, with `gatewayFor`, `gateway/src/main.ts`) with
   * PLATFORM_ENV=production on free loopback ports and a fresh DATA_DIR.
   */
  static async start(options: PlatformProcessOptions): Promise<PlatformProcess> {
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'platform-bench-'));
    const [gateway, ...rest] = await freePorts(1 + SERVICES.length);
    const ports = { gateway: gateway!, ...Object.fromEntries(SERVICES.map((name, i) => [name, rest[i]!])) } as Record<
      'gateway' | ServiceName,
      number
    >;
    const serviceSecret = options.gatewayFor?.serviceSecret ?? randomBytes(32).toString('base64url');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PLATFORM_ENV: 'production',
      NODE_ENV: 'production',
      LOG_LEVEL: options.logLevel ?? 'warn',
      DATA_DIR: dataDir,
      // production.yaml listens on every interface; a benchmark has no business off loopback.
      PLATFORM_HOST: '127.0.0.1',
      PLATFORM_GATEWAY__PORT: String(ports.gateway),
      DATABASE_URL: options.databaseUrl ?? '',
      // Production needs the deployment's service secret: one per platform, shared by its gateways.
      SERVICE_SECRET: serviceSecret,
      // And identity's key-encryption key (its signing keys are stored encrypted under it): the
      // run's own, which data seeded before the platform started used too.
      SIGNING_KEY_ENCRYPTION_KEY: BENCH_KEY_ENCRYPTION_KEY,
      // One benchmark client is one address sending far more than a person would: no rate limits
      // or per-address socket caps unless a benchmark asks for them (bench:edge does).
      PLATFORM_GATEWAY__RATE_LIMITS__ENABLED: 'false',
      PLATFORM_GATEWAY__SUBSCRIPTIONS__MAX_CONNECTIONS_PER_ADDRESS: '100000',
      PLATFORM_GATEWAY__SUBSCRIPTIONS__MAX_SUBSCRIPTIONS_PER_ADDRESS: '1000000',
      // The benchmarks scrape every service's /metrics themselves, on loopback.
      PLATFORM_METRICS__REQUIRE_CREDENTIAL: 'false',
      ...options.env,
    };
    for (const name of SERVICES) {
      const key = `PLATFORM_SERVICES__${name.toUpperCase()}`;
      if (options.gatewayFor) env[`${key}__URL`] = `${options.gatewayFor.serviceUrls[name]}/graphql`;
      else env[`${key}__PORT`] = String(ports[name]);
    }
    const entry = options.gatewayFor ? 'gateway/src/main.ts' : 'scripts/src/start.ts';
    const child = spawn(process.execPath, ['--import', './scripts/register.mjs', ...(options.nodeFlags ?? []), entry], {
      cwd: options.root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const platform = new PlatformProcess(
      child,
      dataDir,
      options.gatewayFor ? { ...options.gatewayFor.ports, gateway: ports.gateway } : ports,
      serviceSecret,
    );
    try {
      await platform.#waitReady(options.readyTimeoutMs ?? 120_000);
    } catch (error) {
      await platform.stop();
      throw error;
    }
    return platform;
  }

  /** Settles with the exit code (null after a signal) when the process ends, for whatever reason. */
  get exited(): Promise<number | null> {
    return this.#exited;
  }

  get running(): boolean {
    return this.#exitCode === undefined;
  }

  /** The last lines the platform printed, for error reports. */
  tail(lines = 40): string {
    return this.#tail.slice(-lines).join('\n');
  }

  /** Log lines by level since start, and the distinct warnings and errors. */
  logSummary(): LogSummary {
    return {
      levels: { ...this.#levels },
      messages: [...this.#messages.values()].sort((a, b) => b.count - a.count).slice(0, 20),
      other: this.#otherLines,
    };
  }

  /** SIGINT (the platform drains and closes its databases), then SIGKILL after `timeoutMs`; removes the data dir. */
  async stop(timeoutMs = 20_000): Promise<number | null> {
    if (this.running) {
      this.#child.kill('SIGINT');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), timeoutMs);
      await this.#exited;
      clearTimeout(timer);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
    return this.#exitCode ?? null;
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(`the platform exited (code ${this.#exitCode}) before it was ready:\n${this.tail()}`);
      try {
        const response = await fetch(`${this.gatewayUrl}/ready`, { signal: AbortSignal.timeout(2000) });
        const body = (await response.json()) as { ready?: boolean; status?: string };
        if (response.ok && body.ready) return;
        last = `${response.status} ${body.status ?? ''}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`the gateway was not ready after ${timeoutMs} ms (last: ${last}):\n${this.tail()}`);
  }

  #record(line: string): void {
    if (!line) return;
    this.#tail.push(line);
    if (this.#tail.length > 200) this.#tail.shift();
    let entry: { level?: number | string; msg?: string } | undefined;
    try {
      entry = line.startsWith('{') ? (JSON.parse(line) as typeof entry) : undefined;
    } catch {
      entry = undefined;
    }
    if (!entry || entry.level === undefined) {
      this.#otherLines += 1;
      return;
    }
    const level = typeof entry.level === 'number' ? (PINO_LEVELS[entry.level] ?? String(entry.level)) : entry.level;
    this.#levels[level] = (this.#levels[level] ?? 0) + 1;
    if (level === 'warn' || level === 'error' || level === 'fatal') {
      const msg = String(entry.msg ?? '').slice(0, 200);
      const key = `${level} ${msg}`;
      const seen = this.#messages.get(key);
      if (seen) seen.count += 1;
      else this.#messages.set(key, { level, msg, count: 1, first: line.slice(0, 2000) });
    }
  }
}

const PINO_LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Distinct free loopback ports (bound, read and released together so none repeats). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address ? address.port : 0;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
