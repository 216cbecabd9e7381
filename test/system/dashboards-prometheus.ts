import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Debian's Prometheus and promtool for the system suites, and what they read from the repository:
 * deploy/prometheus/alerts.yml and the dashboards of deploy/grafana/dashboards.
 */

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ALERTS = join(ROOT, 'deploy/prometheus/alerts.yml');
export const DASHBOARDS = join(ROOT, 'deploy/grafana/dashboards');

/** The path of Debian's `prometheus` or `promtool`; throws (the suite fails, never skips) when missing. */
export function program(name: 'prometheus' | 'promtool'): string {
  const path = `/usr/bin/${name}`;
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: install Debian's Prometheus (apt-get install prometheus; .ci/run does)`);
  }
  return path;
}

/** Runs promtool; `input` goes to its stdin. */
export function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const run = spawnSync(program('promtool'), args, { cwd: ROOT, input, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** One panel of a dashboard JSON file and the PromQL of its targets. */
export interface Panel {
  uid: string;
  title: string;
  exprs: string[];
}

export interface Dashboard {
  uid: string;
  title: string;
  file: string;
  panels: Panel[];
}

export function dashboards(): Dashboard[] {
  return readdirSync(DASHBOARDS)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => {
      const json = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8')) as {
        uid: string;
        title: string;
        panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
      };
      return {
        uid: json.uid,
        title: json.title,
        file,
        panels: json.panels.map((panel) => ({
          uid: json.uid,
          title: panel.title,
          exprs: (panel.targets ?? []).map((target) => target.expr),
        })),
      };
    });
}

/** A panel's expression as Prometheus can run it: Grafana's variables as "all". */
export function runnable(expr: string, rateInterval = '30s'): string {
  return expr.replaceAll('$__rate_interval', rateInterval).replaceAll('$job', '.*').replaceAll('$instance', '.*');
}

/** PromQL words that are not metric names (functions, aggregations, keywords). */
const NOT_METRICS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'abs', 'clamp_min', 'clamp_max',
  'label_replace', 'label_join', 'vector', 'scalar', 'time', 'absent', 'sort', 'sort_desc', 'round', 'le', 'inf', 'nan',
]); // prettier-ignore

/**
 * The metric names an expression reads: identifiers not inside a label matcher or a string, not
 * followed by `(` (a function), not a keyword or a label name of `by (...)`. A histogram's
 * `_bucket`, `_sum` and `_count` are series names of their own and are kept as written.
 */
export function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const withoutMatchers = withoutStrings.replace(/\{[^}]*\}/g, '{}');
  const withoutGroupings = withoutMatchers.replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  const withoutRanges = withoutGroupings.replace(/\[[^\]]*\]/g, '[]');
  const names = new Set<string>();
  for (const match of withoutRanges.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || NOT_METRICS.has(name!.toLowerCase()) || /^\d/.test(name!)) continue;
    names.add(name!);
  }
  return [...names];
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
  errorType?: string;
}

/** A Prometheus server started for a test, scraping the given targets every second. */
export class Prometheus {
  readonly url: string;
  /** When it started (Unix seconds): its data begins here. */
  readonly startedAt = Math.floor(Date.now() / 1000);
  readonly #child: ChildProcess;
  readonly #dir: string;
  #log = '';

  private constructor(url: string, child: ChildProcess, dir: string) {
    this.url = url;
    this.#child = child;
    this.#dir = dir;
    child.stdout?.on('data', (chunk: Buffer) => (this.#log += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.#log += chunk.toString()));
  }

  /**
   * `targets`: service name → origin (http://127.0.0.1:port). The job is `platform` with each
   * target labelled with its service, as in deploy/compose/prometheus.yml, and alerts.yml loaded.
   */
  static async start(targets: Record<string, string>): Promise<Prometheus> {
    const binary = program('prometheus');
    const dir = mkdtempSync(join(tmpdir(), 'prometheus-system-'));
    const port = await freePort();
    const config = [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(ALERTS)}`,
      'scrape_configs:',
      '  - job_name: platform',
      '    metrics_path: /metrics',
      '    static_configs:',
      ...Object.entries(targets).flatMap(([service, origin]) => [
        `      - targets: [${JSON.stringify(new URL(origin).host)}]`,
        `        labels: { service: ${JSON.stringify(service)} }`,
      ]),
    ].join('\n');
    writeFileSync(join(dir, 'prometheus.yml'), `${config}\n`);
    const child = spawn(
      binary,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.console.templates=/nonexistent',
        '--web.console.libraries=/nonexistent',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const prometheus = new Prometheus(`http://127.0.0.1:${port}`, child, dir);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${prometheus.#log}`);
      const ready = await fetch(`${prometheus.url}/-/ready`).then(
        (res) => res.ok,
        () => false,
      );
      if (ready) return prometheus;
      if (Date.now() > deadline) throw new Error(`prometheus was not ready in 60 s:\n${prometheus.#log}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  get log(): string {
    return this.#log;
  }

  async api<T>(path: string, params: Record<string, string | string[]> = {}): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      for (const one of Array.isArray(value) ? value : [value]) search.append(key, one);
    }
    const res = await fetch(`${this.url}/api/v1/${path}?${search}`);
    const body = (await res.json()) as ApiAnswer<T>;
    if (body.status !== 'success') throw new Error(`${path} ${search}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  /** The targets' health, by scrape URL. */
  async targets(): Promise<Array<{ scrapeUrl: string; health: string; lastError: string }>> {
    const data = await this.api<{ activeTargets: Array<{ scrapeUrl: string; health: string; lastError: string }> }>(
      'targets',
    );
    return data.activeTargets;
  }

  /** Series matching `selector` (e.g. a metric name). */
  async series(selector: string): Promise<Array<Record<string, string>>> {
    return this.api('series', { 'match[]': selector, start: String(Date.now() / 1000 - 3600) });
  }

  async query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
    const data = await this.api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
      'query',
      { query: expr },
    );
    return data.result;
  }

  async queryRange(
    expr: string,
    start: number,
    end: number,
    step: number,
  ): Promise<Array<{ metric: Record<string, string>; values: Array<[number, string]> }>> {
    const data = await this.api<{ result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>(
      'query_range',
      { query: expr, start: String(start), end: String(end), step: String(step) },
    );
    return data.result;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null) {
      const exited = new Promise((resolve) => this.#child.once('exit', resolve));
      this.#child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
