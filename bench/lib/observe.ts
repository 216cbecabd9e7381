// What the server side did during a step: Prometheus counters of the services, CPU time of the
// platform's threads (Linux /proc), of the load generator and of the whole machine.
import { readdirSync, readFileSync } from 'node:fs';

/** One scrape of a service's /metrics: series key (`name{a="x",b="y"}`, labels sorted) → value. */
export type Scrape = Map<string, number>;

export async function scrape(baseUrl: string): Promise<Scrape> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`${baseUrl}/metrics answered ${response.status}`);
  return parsePrometheus(await response.text());
}

/**
 * `baseUrl`'s metrics with the process's own (`process_*`, `nodejs_*`) added: services sharing a
 * process report those once, on whichever of them (`processPeers`) serves them.
 */
export async function scrapeWithProcess(baseUrl: string, processPeers: string[]): Promise<Scrape> {
  const own = await scrape(baseUrl);
  const isProcess = (key: string): boolean => key.startsWith('process_') || key.startsWith('nodejs_');
  if ([...own.keys()].some(isProcess)) return own;
  for (const peer of processPeers.filter((url) => url !== baseUrl)) {
    const other = await scrape(peer);
    const series = [...other].filter(([key]) => isProcess(key));
    if (series.length > 0) return new Map([...own, ...series]);
  }
  return own;
}

export function parsePrometheus(text: string): Scrape {
  const series: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, key, value]) => `${key}="${value}"`)
      .sort();
    series.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return series;
}

/** Sum of the series named `name` whose labels include every `where` pair. */
export function sum(scrape: Scrape, name: string, where: Record<string, string> = {}): number {
  const wanted = Object.entries(where).map(([key, value]) => `${key}="${value}"`);
  let total = 0;
  for (const [key, value] of scrape) {
    if (!key.startsWith(`${name}{`)) continue;
    const labels = key.slice(name.length + 1, -1).split(',');
    if (wanted.every((pair) => labels.includes(pair))) total += value;
  }
  return total;
}

/** `after - before` for a counter (histogram _sum, _count and _bucket series are counters). */
export function delta(before: Scrape, after: Scrape, name: string, where: Record<string, string> = {}): number {
  return sum(after, name, where) - sum(before, name, where);
}

/** CPU seconds per thread of a process: tid → { name, seconds }. */
export type ThreadTimes = Map<number, { name: string; seconds: number }>;

const CLOCK_TICKS = 100; // USER_HZ on Linux

export function threadTimes(pid: number): ThreadTimes | null {
  const times: ThreadTimes = new Map();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      // After "pid (comm)": state is field 3, utime 14 and stime 15.
      const fields = stat.slice(close + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]);
      times.set(Number(tid), { name: stat.slice(open + 1, close), seconds: ticks / CLOCK_TICKS });
    } catch {
      // the thread ended between readdir and read
    }
  }
  return times;
}

export interface PlatformCpu {
  /** CPU seconds over the step, by kind of thread. */
  mainThread: number;
  /** libuv's thread pool: argon2, and crypto and fs work. */
  threadPool: number;
  /** V8's helper threads (concurrent GC, compilers) and the rest. */
  otherThreads: number;
  total: number;
}

/** Splits the CPU time a process spent between two snapshots by kind of thread. */
export function platformCpu(pid: number, before: ThreadTimes | null, after: ThreadTimes | null): PlatformCpu | null {
  if (!before || !after) return null;
  const cpu = { mainThread: 0, threadPool: 0, otherThreads: 0, total: 0 };
  for (const [tid, { name, seconds }] of after) {
    const spent = seconds - (before.get(tid)?.seconds ?? 0);
    if (tid === pid) cpu.mainThread += spent;
    else if (name === 'libuv-worker') cpu.threadPool += spent;
    else cpu.otherThreads += spent;
    cpu.total += spent;
  }
  return cpu;
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
export function machineTimes(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return null;
  }
}

/** CPU seconds used so far by each of `pids` (whole processes; pids that are gone are left out). */
export function processTimes(pids: Iterable<number>): Map<number, number> {
  const times = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      times.set(pid, (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS);
    } catch {
      // gone, or not on Linux
    }
  }
  return times;
}
