// Load generation with autocannon, and latency statistics from every response.
//
// autocannon's rate limit is not a fixed arrival rate: each connection sends its `rate` requests
// back to back at the start of every second, and all connections' one-second timers start
// together. `overallRate: 40` over 10 connections is therefore a burst of 10 concurrent requests
// at each second boundary, each connection chaining its 4 as fast as the server answers. So:
//
// - `paced` gives a real fixed arrival rate: `rate` single-connection autocannon instances at
//   1 request/s each, started 1000/rate ms apart, so one request leaves every 1000/rate ms.
// - `burst` is autocannon's own `overallRate` over `connections`, as the CLI would run it.
// - `closed` is a closed loop at full speed: `connections` connections, each sending its next
//   request as soon as the previous answer arrives (throughput: the most the server completes).
//
// Latencies are taken from each response (autocannon's `responseTime`: request written → response
// complete), not from autocannon's histogram, whose coordinated-omission correction under a rate
// limit uses an expected interval of ceil(1 / per-connection rate) = 1 ms and so adds a made-up
// sample for every millisecond of every response.
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

export type Arrival = 'paced' | 'burst' | 'closed';

export interface LoadSpec {
  /** The full URL, e.g. http://127.0.0.1:4000/graphql. */
  url: string;
  arrival: Arrival;
  /** Requests per second (ignored by `closed`). */
  rate: number;
  durationSec: number;
  /** Connections for `burst` and `closed` (paced uses one per request/s). */
  connections: number;
  headers: Record<string, string>;
  /** The body of the next request (called once per request). */
  nextBody(): string;
  /** null when the response is a success, else a failure label (e.g. `http 500`, `graphql UNAUTHENTICATED`). */
  classify(status: number, body: string): string | null;
  /** Stops the load early (e.g. when the server died). */
  signal?: AbortSignal;
}

export interface Sample {
  /** ms from the start of the step to when the request was written. */
  sentAt: number;
  /** ms from written to the whole response read. */
  latency: number;
  ok: boolean;
}

export interface LoadResult {
  arrival: Arrival;
  targetRate: number;
  connections: number;
  durationSec: number;
  samples: Sample[];
  /** Failure label → count (HTTP status and GraphQL error codes). */
  failures: Record<string, number>;
  /** Connection errors and timeouts reported by autocannon. */
  requestErrors: number;
  timeouts: number;
  /** autocannon's own latency histogram (burst only, with its coordinated-omission correction), ms. */
  autocannonLatency?: { p50: number; p90: number; p97_5: number; p99: number; max: number; average: number };
}

export interface LatencyStats {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const start = performance.now();
  const samples: Sample[] = [];
  const failures: Record<string, number> = {};
  let requestErrors = 0;
  let timeouts = 0;
  // onResponse (which sees the body) runs synchronously just before the 'response' event
  // (which sees the timing) for the same response: carry the verdict across.
  let verdict: string | null = null;

  const request: autocannon.Request = {
    method: 'POST',
    headers: spec.headers,
    setupRequest: (req) => ({ ...req, body: spec.nextBody() }),
    onResponse: (status, body) => {
      verdict = spec.classify(status, body);
      if (verdict) failures[verdict] = (failures[verdict] ?? 0) + 1;
    },
  };

  const instances: autocannon.Instance[] = [];
  const stopAll = (): void => instances.forEach((instance) => instance.stop());
  spec.signal?.addEventListener('abort', stopAll, { once: true });
  const launch = (options: Partial<autocannon.Options>): Promise<autocannon.Result> =>
    new Promise((resolve, reject) => {
      const instance = autocannon(
        { url: spec.url, duration: spec.durationSec, timeout: 10, requests: [request], ...options },
        (error, result) => (error ? reject(error) : resolve(result)),
      );
      instances.push(instance);
      instance.on('response', (_client, _status, _bytes, responseTime) => {
        const now = performance.now();
        samples.push({ sentAt: now - responseTime - start, latency: responseTime, ok: verdict === null });
        verdict = null;
      });
      instance.on('reqError', (error) => {
        requestErrors += 1;
        if (error.message.includes('timed out')) timeouts += 1;
      });
    });

  let autocannonLatency: LoadResult['autocannonLatency'];
  if (spec.arrival === 'closed') {
    await launch({ connections: spec.connections });
  } else if (spec.arrival === 'burst') {
    const result = await launch({ connections: spec.connections, overallRate: spec.rate });
    const { p50, p90, p97_5, p99, max, average } = result.latency;
    autocannonLatency = { p50, p90, p97_5, p99, max, average };
  } else {
    const runs: Array<Promise<autocannon.Result>> = [];
    for (let i = 0; i < spec.rate && !spec.signal?.aborted; i += 1) {
      const due = start + (i * 1000) / spec.rate;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
      runs.push(launch({ connections: 1, connectionRate: 1, ignoreCoordinatedOmission: true }));
    }
    await Promise.all(runs);
  }
  spec.signal?.removeEventListener('abort', stopAll);
  samples.sort((a, b) => a.sentAt - b.sentAt);
  return {
    arrival: spec.arrival,
    targetRate: spec.rate,
    connections:
      spec.arrival === 'closed'
        ? spec.connections
        : spec.arrival === 'burst'
          ? Math.min(spec.connections, spec.rate)
          : spec.rate,
    durationSec: spec.durationSec,
    samples,
    failures,
    requestErrors,
    timeouts,
    autocannonLatency,
  };
}

/** Nearest-rank percentiles. */
/** `value` to one decimal, as the benchmarks report milliseconds. */
export const round = (value: number): number => Math.round(value * 10) / 10;

export function latencyStats(latencies: number[]): LatencyStats {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  const total = sorted.reduce((acc, value) => acc + value, 0);
  return {
    count: sorted.length,
    mean: sorted.length ? total / sorted.length : NaN,
    p50: at(50),
    p90: at(90),
    p95: at(95),
    p99: at(99),
    max: sorted.at(-1) ?? NaN,
  };
}

/** Completed requests per second of the step (answered requests / its duration). */
export function achievedRate(result: LoadResult): number {
  return result.samples.length / result.durationSec;
}

/** The most requests written in any 100 ms bin: ~rate/10 when paced, much more when bursty. */
export function peakPer100ms(samples: Sample[]): number {
  const bins = new Map<number, number>();
  for (const { sentAt } of samples) {
    const bin = Math.floor(sentAt / 100);
    bins.set(bin, (bins.get(bin) ?? 0) + 1);
  }
  return Math.max(0, ...bins.values());
}

/** Most requests in flight at once (from each request's send and completion times). */
export function peakInFlight(samples: Sample[]): number {
  const events = samples.flatMap(({ sentAt, latency }) => [
    [sentAt, 1],
    [sentAt + latency, -1],
  ]);
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let current = 0;
  let peak = 0;
  for (const [, change] of events) {
    current += change!;
    peak = Math.max(peak, current);
  }
  return peak;
}
