// The benchmark's N measured sockets, three ways (`--client`):
// - wire (default) and raw: RawSubscriberPool (on the benchmark's lean WebSocket, or on `ws`) in
//   this thread, or spread over `--client-workers` threads;
// - graphql-ws: one graphql-ws `createClient` per socket, as before: kept to show what the
//   client itself costs (it also records each frame's raw arrival, before graphql-ws parses it).
import { Worker } from 'node:worker_threads';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { FromWorker, ToWorker } from './client-worker.js';
import { clockBase } from './clock.js';
import { now, RawSubscriberPool, type RawPoolOptions } from './raw-client.js';

export interface Collected {
  /** Per socket: epoch ms the event was handed to the benchmark's code (NaN: missed). */
  times: Float64Array;
  /** graphql-ws client only: epoch ms the same frame arrived from `ws`, before graphql-ws handled it. */
  rawTimes?: Float64Array;
  errors: number;
}

export interface MeasuredSockets {
  readonly size: number;
  open(): Promise<void>;
  /** `postId`'s arrival per socket once all have it or `timeoutMs` passed. */
  collect(postId: string, timeoutMs: number): Promise<Collected>;
  close(): Promise<void>;
}

export type ClientKind = 'wire' | 'raw' | 'graphql-ws';

export function measuredSockets(kind: ClientKind, options: RawPoolOptions, workers: number): MeasuredSockets {
  if (kind === 'graphql-ws') return new GraphqlWsSockets(options);
  options = { ...options, transport: kind === 'raw' ? 'ws' : 'wire' };
  return workers > 0 ? new WorkerSockets(options, workers) : new InProcessSockets(options);
}

class InProcessSockets implements MeasuredSockets {
  readonly #pool: RawSubscriberPool;
  constructor(options: RawPoolOptions) {
    this.#pool = new RawSubscriberPool(options);
  }
  get size(): number {
    return this.#pool.size;
  }
  open(): Promise<void> {
    return this.#pool.open();
  }
  async collect(postId: string, timeoutMs: number): Promise<Collected> {
    return { times: await this.#pool.collect(postId, timeoutMs), errors: this.#pool.errors };
  }
  close(): Promise<void> {
    return this.#pool.close();
  }
}

/** The sockets split evenly over worker threads, each a RawSubscriberPool. */
class WorkerSockets implements MeasuredSockets {
  readonly size: number;
  readonly #workers: Worker[] = [];
  readonly #slices: RawPoolOptions[] = [];
  readonly #pending = new Map<string, Array<(message: FromWorker & { type: 'collected' }) => void>>();

  constructor(options: RawPoolOptions, count: number) {
    this.size = options.count;
    let first = 0;
    for (let i = 0; i < count; i++) {
      const share = Math.floor(options.count / count) + (i < options.count % count ? 1 : 0);
      this.#slices.push({ ...options, count: share, firstIndex: options.firstIndex + first });
      first += share;
    }
  }

  async open(): Promise<void> {
    await Promise.all(
      this.#slices.map(
        (slice) =>
          new Promise<void>((resolve, reject) => {
            const worker = new Worker(new URL('./client-worker.ts', import.meta.url), {
              workerData: { ...slice, clockBase: clockBase() },
            });
            this.#workers.push(worker);
            worker.on('error', reject);
            worker.on('message', (message: FromWorker) => {
              if (message.type === 'open') resolve();
              else if (message.type === 'failed') reject(new Error(message.message));
              else if (message.type === 'collected') this.#pending.get(message.postId)?.shift()?.(message);
            });
          }),
      ),
    );
  }

  async collect(postId: string, timeoutMs: number): Promise<Collected> {
    const parts = await Promise.all(
      this.#workers.map(
        (worker) =>
          new Promise<FromWorker & { type: 'collected' }>((resolve) => {
            const waiting = this.#pending.get(postId) ?? [];
            waiting.push(resolve);
            this.#pending.set(postId, waiting);
            worker.postMessage({ type: 'collect', postId, timeoutMs } satisfies ToWorker);
          }),
      ),
    );
    this.#pending.delete(postId);
    const times = new Float64Array(this.size);
    let offset = 0;
    for (const part of parts) {
      times.set(part.times, offset);
      offset += part.times.length;
    }
    return { times, errors: parts.reduce((total, part) => total + part.errors, 0) };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.on('message', (message: FromWorker) => message.type === 'closed' && resolve());
            worker.on('exit', () => resolve());
            worker.postMessage({ type: 'close' } satisfies ToWorker);
          }),
      ),
    );
  }
}

interface GraphqlWsSocket {
  client: Client;
  received: Map<string, { at: number; rawAt: number }>;
  lastRawAt: number;
  errors: number;
}

/** One graphql-ws client per socket (the benchmark's client before the raw one). */
class GraphqlWsSockets implements MeasuredSockets {
  readonly #options: RawPoolOptions;
  readonly #sockets: GraphqlWsSocket[] = [];

  constructor(options: RawPoolOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#sockets.length;
  }

  async open(): Promise<void> {
    const { count, concurrency } = this.#options;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) this.#sockets.push(await this.#openOne(next++));
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  }

  async #openOne(slot: number): Promise<GraphqlWsSocket> {
    const { url, query, distinct, firstIndex, tokens } = this.#options;
    const headers = distinct ? { 'user-agent': `subscriptions-bench-${firstIndex + slot}` } : {};
    const token = tokens?.length ? tokens[(firstIndex + slot) % tokens.length] : undefined;
    const socket: GraphqlWsSocket = {
      client: undefined as unknown as Client,
      received: new Map(),
      lastRawAt: Number.NaN,
      errors: 0,
    };
    /** `ws` with this socket's headers, noting when each frame arrives (before graphql-ws's own listener). */
    class BenchWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers });
        this.on('message', () => (socket.lastRawAt = now()));
      }
    }
    await new Promise<void>((resolve, reject) => {
      socket.client = createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: BenchWebSocket,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        lazy: false,
        retryAttempts: 0,
        onNonLazyError: reject,
        on: { connected: () => resolve() },
      });
    });
    socket.client.subscribe<{ postCreated: { id: string } }>(
      { query },
      {
        next: (result) => {
          const id = result.data?.postCreated.id;
          if (id) socket.received.set(id, { at: now(), rawAt: socket.lastRawAt });
          else socket.errors++;
        },
        error: () => socket.errors++,
        complete: () => {},
      },
    );
    return socket;
  }

  async collect(postId: string, timeoutMs: number): Promise<Collected> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.#sockets.every((s) => s.received.has(postId))) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const times = new Float64Array(this.#sockets.length).fill(Number.NaN);
    const rawTimes = new Float64Array(this.#sockets.length).fill(Number.NaN);
    this.#sockets.forEach((socket, i) => {
      const got = socket.received.get(postId);
      if (!got) return;
      times[i] = got.at;
      rawTimes[i] = got.rawAt;
      socket.received.delete(postId);
    });
    return { times, rawTimes, errors: this.#sockets.reduce((total, s) => total + s.errors, 0) };
  }

  async close(): Promise<void> {
    await Promise.all(this.#sockets.map((s) => s.client.dispose()));
  }
}
