// The servers under test, each in its own process on loopback: the platform (`npm start`:
// every subgraph, answering the "direct" case), our gateway alone in front of those subgraphs,
// a stock @apollo/gateway, Hive Gateway, and the bare node:http ceiling. Foreign gateways read
// the committed supergraph with its subgraph URLs pointed at this run's ports, and get a
// minimal environment, so no usage reporting or telemetry can be switched on by accident.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../lib/database.js';
import { freePorts, PlatformProcess, SERVICES } from '../lib/platform.js';
import { ServerProcess } from '../lib/server-process.js';
import { PAGE_QUERY, type TargetName } from './cases.js';

export interface TargetsSpec {
  root: string;
  needed: ReadonlySet<TargetName>;
  /** The prepared (seeded) DATA_DIR of the platform. */
  dataDir: string;
  database: Database | undefined;
  /** Extra environment for our gateway and the platform (tuning switches for A/B runs). */
  env: NodeJS.ProcessEnv;
  /** Node flags for our gateway (e.g. --cpu-prof). */
  gatewayNodeFlags: string[];
  log: (line: string) => void;
}

export class Targets {
  platform?: PlatformProcess;
  ours?: PlatformProcess;
  oursNoDedupe?: PlatformProcess;
  stock?: ServerProcess;
  hive?: ServerProcess;
  ceiling?: ServerProcess;
  readonly #urls = new Map<TargetName, string>();

  /** The URL requests of a case go to. */
  url(target: TargetName): string {
    const url = this.#urls.get(target);
    if (!url) throw new Error(`target ${target} was not started`);
    return url;
  }

  /** Processes whose CPU a case uses (the server it calls and the subgraphs behind it). */
  pids(target: TargetName): number[] {
    const fronts: Record<TargetName, PlatformProcess | ServerProcess | undefined> = {
      ceiling: this.ceiling,
      blog: undefined,
      ours: this.ours,
      'ours-nodedupe': this.oursNoDedupe,
      stock: this.stock,
      hive: this.hive,
    };
    const front = fronts[target];
    return [front?.pid, target === 'ceiling' ? undefined : this.platform?.pid].filter((p): p is number => !!p);
  }

  /** Every process still running, by name (to check none died mid-run). */
  processes(): Array<{ name: string; running: boolean; tail: () => string }> {
    const all: Array<[string, PlatformProcess | ServerProcess | undefined]> = [
      ['platform', this.platform],
      ['our gateway', this.ours],
      ['our gateway (dedupe off)', this.oursNoDedupe],
      ['stock @apollo/gateway', this.stock],
      ['Hive Gateway', this.hive],
      ['ceiling', this.ceiling],
    ];
    return all
      .filter((entry): entry is [string, PlatformProcess | ServerProcess] => !!entry[1])
      .map(([name, proc]) => ({ name, running: proc.running, tail: () => proc.tail(20) }));
  }

  async start(spec: TargetsSpec): Promise<void> {
    const probe = JSON.stringify({ query: PAGE_QUERY });
    const minimalEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'production' };
    if (spec.needed.has('ceiling')) {
      const [port] = await freePorts(1);
      this.ceiling = await ServerProcess.start({
        name: 'ceiling',
        command: process.execPath,
        args: ['bench/servers/ceiling.ts', String(port)],
        cwd: spec.root,
        env: minimalEnv,
        probeUrl: `http://127.0.0.1:${port}/`,
        probeBody: '{}',
      });
      this.#urls.set('ceiling', `http://127.0.0.1:${port}/`);
      spec.log(`ceiling: pid ${this.ceiling.pid}`);
    }
    if ([...spec.needed].every((name) => name === 'ceiling')) return;

    const started = performance.now();
    this.platform = await PlatformProcess.start({
      root: spec.root,
      databaseUrl: spec.database?.url ?? null,
      dataDir: spec.dataDir,
      env: spec.env,
    });
    this.#urls.set('blog', `${this.platform.serviceUrls.blog}/graphql`);
    spec.log(
      `platform (subgraphs): pid ${this.platform.pid}, ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    if (spec.needed.has('ours')) {
      this.ours = await PlatformProcess.start({
        root: spec.root,
        databaseUrl: null,
        gatewayFor: this.platform,
        env: spec.env,
        nodeFlags: spec.gatewayNodeFlags,
      });
      this.#urls.set('ours', `${this.ours.gatewayUrl}/graphql`);
      spec.log(`our gateway: pid ${this.ours.pid}`);
    }
    if (spec.needed.has('ours-nodedupe')) {
      this.oursNoDedupe = await PlatformProcess.start({
        root: spec.root,
        databaseUrl: null,
        gatewayFor: this.platform,
        env: { ...spec.env, PLATFORM_GATEWAY__DEDUPE_INFLIGHT_QUERIES: 'false' },
      });
      this.#urls.set('ours-nodedupe', `${this.oursNoDedupe.gatewayUrl}/graphql`);
      spec.log(`our gateway with in-flight dedupe off: pid ${this.oursNoDedupe.pid}`);
    }
    if (!spec.needed.has('stock') && !spec.needed.has('hive')) return;

    const supergraph = join(this.platform.dataDir, 'supergraph.graphql');
    writeFileSync(supergraph, supergraphFor(spec.root, this.platform));
    if (spec.needed.has('stock')) {
      const [port] = await freePorts(1);
      this.stock = await ServerProcess.start({
        name: 'stock @apollo/gateway',
        command: process.execPath,
        args: ['bench/servers/stock-apollo.ts', supergraph, String(port)],
        cwd: spec.root,
        env: minimalEnv,
        probeUrl: `http://127.0.0.1:${port}/`,
        probeBody: probe,
      });
      this.#urls.set('stock', `http://127.0.0.1:${port}/`);
      spec.log(`stock @apollo/gateway: pid ${this.stock.pid}`);
    }
    if (spec.needed.has('hive')) {
      const [port] = await freePorts(1);
      this.hive = await ServerProcess.start({
        name: 'Hive Gateway',
        command: process.execPath,
        args: [
          'node_modules/@graphql-hive/gateway/dist/bin.js',
          'supergraph',
          supergraph,
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--fork',
          '1',
        ],
        cwd: spec.root,
        env: minimalEnv,
        probeUrl: `http://127.0.0.1:${port}/graphql`,
        probeBody: probe,
      });
      this.#urls.set('hive', `http://127.0.0.1:${port}/graphql`);
      spec.log(`Hive Gateway: pid ${this.hive.pid}`);
    }
  }

  async stop(): Promise<void> {
    for (const proc of [this.hive, this.stock, this.ours, this.oursNoDedupe, this.ceiling]) {
      await proc?.stop().catch(() => undefined);
    }
    await this.platform?.stop().catch(() => undefined);
  }
}

/** The committed supergraph with each subgraph's URL replaced by where this run's subgraph listens. */
export function supergraphFor(root: string, platform: PlatformProcess): string {
  let sdl = readFileSync(join(root, 'schema', 'supergraph.graphql'), 'utf8');
  for (const name of SERVICES) {
    sdl = sdl.replace(
      new RegExp(`(@join__graph\\(name: "${name}", url: ")[^"]*(")`),
      `$1${platform.serviceUrls[name]}/graphql$2`,
    );
  }
  return sdl;
}
