// The benchmark's measured sockets: a minimal graphql-transport-ws client (connection_init →
// connection_ack, subscribe, next/error/complete, ping → pong) that timestamps each frame the
// moment its socket hands it over, before parsing it. Under it either the benchmark's lean
// WebSocket (wire-socket.ts, default) or the `ws` package's client.
//
// Why not graphql-ws's own client: 5000 `createClient` instances in one process parse, validate
// and dispatch every frame through several layers, serially on one event loop, so the last
// socket's timestamp included the client's own handling of the 4999 frames before it (measured:
// see docs/performance.md "Subscriptions"). The benchmark still runs one real graphql-ws client
// beside these as a protocol check.
import WebSocket from 'ws';
import { now } from './clock.js';
import { WireSocket } from './wire-socket.js';

/** How a `next` frame of this client's subscription (operation id 1, `postCreated { id …`) starts. */
const NEXT_POST_PREFIX = '{"id":"1","type":"next","payload":{"data":{"postCreated":{"id":"';

export { now } from './clock.js';

/** The `connection_init` message of socket `index`: signed in with one of `tokens`, or a guest. */
export function connectionInit(tokens: readonly string[] | undefined, index: number): string {
  const token = tokens?.length ? tokens[index % tokens.length] : undefined;
  return JSON.stringify({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} });
}

export interface RawPoolOptions {
  url: string;
  query: string;
  /** How many sockets, and the index of the first (for distinct user agents across workers). */
  count: number;
  firstIndex: number;
  concurrency: number;
  /** A different user agent per socket. */
  distinct: boolean;
  /**
   * Access tokens the sockets sign in with, socket `i` (counting from `firstIndex`) with
   * `tokens[i % tokens.length]`; guests without.
   */
  tokens?: readonly string[];
  /**
   * The WebSocket under each client: `wire` (default) is the benchmark's own lean one on a TCP
   * socket (wire-socket.ts), `ws` the `ws` package's client (~2× the CPU per frame).
   */
  transport?: 'wire' | 'ws';
}

interface RawSocket {
  send(text: string): void;
  close(): Promise<void>;
  errors: number;
}

/**
 * `count` sockets subscribed to `postCreated { id … }`; `received.get(postId)` holds the arrival
 * time (epoch ms, `now()`) of that post's frame per socket, NaN where it has not arrived.
 */
export class RawSubscriberPool {
  readonly received = new Map<string, Float64Array>();
  /** post id → sockets that got it so far. */
  readonly counts = new Map<string, number>();
  readonly #sockets: RawSocket[] = [];
  readonly #options: RawPoolOptions;
  /** post id → who waits for it to reach every socket. */
  readonly #waiters = new Map<string, () => void>();

  constructor(options: RawPoolOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#sockets.length;
  }

  get errors(): number {
    return this.#sockets.reduce((total, socket) => total + socket.errors, 0);
  }

  async open(): Promise<void> {
    const { count, concurrency } = this.#options;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) await this.#openOne(next++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  }

  async #openOne(slot: number): Promise<void> {
    const { url, query, distinct, firstIndex, tokens } = this.#options;
    const headers: Record<string, string> = distinct
      ? { 'user-agent': `subscriptions-bench-${firstIndex + slot}` }
      : {};
    const init = connectionInit(tokens, firstIndex + slot);
    let acknowledged!: () => void;
    const ack = new Promise<void>((resolve) => (acknowledged = resolve));
    let opened = false;
    const socket: RawSocket = { send: () => {}, close: async () => {}, errors: 0 };
    this.#sockets[slot] = socket;
    const onMessage = (text: string, at: number): void => {
      // The common case, without parsing the whole frame: its post id (the check socket beside
      // these parses and checks every event in full).
      if (text.startsWith(NEXT_POST_PREFIX)) {
        const end = text.indexOf('"', NEXT_POST_PREFIX.length);
        if (end > NEXT_POST_PREFIX.length) return this.#receive(text.slice(NEXT_POST_PREFIX.length, end), slot, at);
      }
      const message = JSON.parse(text) as {
        type: string;
        payload?: { data?: { postCreated?: { id?: string } } };
      };
      switch (message.type) {
        case 'next': {
          const postId = message.payload?.data?.postCreated?.id;
          if (postId) this.#receive(postId, slot, at);
          else socket.errors++;
          return;
        }
        case 'connection_ack':
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
          opened = true;
          acknowledged();
          return;
        case 'ping':
          socket.send('{"type":"pong"}');
          return;
        case 'pong':
          return;
        default:
          // error, complete (the subscription ended early) or anything unexpected.
          socket.errors++;
      }
    };
    if (this.#options.transport === 'ws') return this.#openWs(socket, headers, init, onMessage, ack);
    let failed: ((error: Error) => void) | undefined;
    const broken = new Promise<never>((_, reject) => (failed = reject));
    const wire = await WireSocket.connect({
      url,
      protocol: 'graphql-transport-ws',
      headers,
      stamp: now,
      onMessage,
      onError: (error) => (opened ? socket.errors++ : failed?.(error)),
    });
    socket.send = (text) => wire.send(text);
    socket.close = () => wire.close(1000);
    wire.send(init);
    const closedEarly = wire.closed.then(() => {
      throw new Error(`socket closed with ${wire.closeCode ?? 1006} before connection_ack`);
    });
    await Promise.race([ack, broken, closedEarly]);
  }

  /** The same client on the `ws` package (`transport: 'ws'`); resolves at `connection_ack`. */
  #openWs(
    socket: RawSocket,
    headers: Record<string, string>,
    init: string,
    onMessage: (text: string, at: number) => void,
    ack: Promise<void>,
  ): Promise<void> {
    const ws = new WebSocket(this.#options.url.replace(/^http/, 'ws'), 'graphql-transport-ws', {
      headers,
      perMessageDeflate: false,
    });
    socket.send = (text) => ws.send(text);
    socket.close = () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === ws.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close(1000);
      });
    ws.on('message', (data: Buffer) => {
      const at = now();
      onMessage(data.toString(), at);
    });
    return new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`socket closed with ${code} before connection_ack`)));
      ws.once('open', () => ws.send(init));
      void ack.then(() => {
        ws.removeAllListeners('error');
        ws.removeAllListeners('close');
        ws.on('error', () => socket.errors++);
        resolve();
      });
    });
  }

  #receive(postId: string, slot: number, at: number): void {
    let times = this.received.get(postId);
    if (!times) {
      times = new Float64Array(this.#options.count).fill(Number.NaN);
      this.received.set(postId, times);
    }
    if (!Number.isNaN(times[slot]!)) return;
    times[slot] = at;
    const got = (this.counts.get(postId) ?? 0) + 1;
    this.counts.set(postId, got);
    if (got === this.#options.count) this.#waiters.get(postId)?.();
  }

  /**
   * Arrival times of `postId` per socket (NaN: not within `timeoutMs`), once every socket got it
   * or the time is up; then forgets the post.
   */
  async collect(postId: string, timeoutMs: number): Promise<Float64Array> {
    if ((this.counts.get(postId) ?? 0) < this.#options.count) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#waiters.set(postId, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.#waiters.delete(postId);
    }
    const times = this.received.get(postId) ?? new Float64Array(this.#options.count).fill(Number.NaN);
    this.received.delete(postId);
    this.counts.delete(postId);
    return times;
  }

  async close(): Promise<void> {
    await Promise.all(this.#sockets.map((socket) => socket.close()));
  }
}
