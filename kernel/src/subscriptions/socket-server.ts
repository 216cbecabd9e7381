import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { handleProtocols } from 'graphql-ws';
import { CloseCode } from './close-codes.js';

/** Largest message a client may send (an operation and its variables). */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

export interface AttachedSockets {
  readonly wss: WebSocketServer;
  /** Open sockets. */
  readonly size: number;
  /** Closes every socket with 1001 (going away), stops accepting upgrades. */
  close(): Promise<void>;
}

export interface AttachOptions {
  /**
   * Pings every socket this often (WebSocket ping frames); one that has not answered a ping by
   * the next is terminated. 0: no pings (then graphql-ws's own keep-alive, unjittered, may be used).
   */
  keepAliveMs: number;
  /**
   * Refuses an upgrade before it becomes a socket, with an HTTP status, a reason and extra
   * headers (a foreign `Origin`: 403; a caller over its rate budget: 429 + Retry-After).
   * Nothing refused: undefined.
   */
  admit?: (request: IncomingMessage) => Promise<UpgradeRefusal | undefined> | UpgradeRefusal | undefined;
  /**
   * Sockets one client address may hold open, counted from the upgrade, so sockets that never
   * send `connection_init` count too; over it the upgrade is refused with 429.
   */
  perAddress?: { max: number; addressOf: (request: IncomingMessage) => string | undefined };
}

/** Why an upgrade is refused. */
export interface UpgradeRefusal {
  status: number;
  reason: string;
  headers?: string[];
}

const STATUS_TEXT: Record<number, string> = { 403: 'Forbidden', 429: 'Too Many Requests' };

/** Ends an upgrade request with a plain HTTP answer (the socket never becomes a WebSocket). */
function refuseUpgrade(socket: Duplex, status: number, reason: string, headers: string[] = []): void {
  const body = JSON.stringify({
    errors: [{ message: reason, extensions: { code: status === 429 ? 'RATE_LIMITED' : 'FORBIDDEN' } }],
  });
  socket.end(
    [
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Refused'}`,
      'Connection: close',
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      ...headers,
      '',
      body,
    ].join('\r\n'),
  );
}

/** About how often the keep-alive wakes to ping the sockets whose turn came. */
const KEEP_ALIVE_TICK_MS = 250;
/** The fewest turns an interval is split into (short intervals, as in tests, still spread). */
const MIN_KEEP_ALIVE_TURNS = 8;

/**
 * Keeps sockets alive, as graphql-ws's keep-alive does: each socket is pinged once per interval,
 * and one that has not answered by its next ping is terminated. Two differences:
 * - **One timer per server, not per socket.** The interval is split into turns of ~250 ms, and
 *   each turn pings the sockets whose turn it is, together. A timer per socket woke the process
 *   (and the peer's) once per ping: with 5,000 sockets pinged every 12 s, ~420 wake-ups a second
 *   on each side, which cost the server about twice the CPU of the pings themselves
 *   (`npm run bench:subscriptions:floor`, docs/performance.md).
 * - **Jittered.** A socket's first ping comes at a random turn of the second half of its first
 *   interval: sockets that connected together (a reconnect storm after a deploy, a benchmark)
 *   would otherwise ping, and answer, together ever after.
 */
class KeepAlive {
  readonly #turns: Array<Set<WebSocket>>;
  readonly #tickMs: number;
  readonly #awaitingPong = new WeakSet<WebSocket>();
  #turn = 0;
  #sockets = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number) {
    const turns = Math.max(MIN_KEEP_ALIVE_TURNS, Math.round(intervalMs / KEEP_ALIVE_TICK_MS));
    this.#turns = Array.from({ length: turns }, () => new Set<WebSocket>());
    this.#tickMs = intervalMs / turns;
  }

  add(ws: WebSocket): void {
    const turns = this.#turns.length;
    // 1 + turns/2 … turns ticks from now: in the second half of the first interval.
    const wait = Math.floor(turns / 2) + 1 + Math.floor(Math.random() * Math.ceil(turns / 2));
    const turn = this.#turns[(this.#turn + wait) % turns]!;
    turn.add(ws);
    this.#sockets++;
    ws.on('pong', () => this.#awaitingPong.delete(ws));
    ws.once('close', () => {
      if (turn.delete(ws)) this.#sockets--;
      if (this.#sockets === 0) this.stop();
    });
    this.#timer ??= setInterval(() => this.#tick(), this.#tickMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    this.#turn = (this.#turn + 1) % this.#turns.length;
    for (const ws of this.#turns[this.#turn]!) {
      if (ws.readyState !== ws.OPEN) continue; // closing: its 'close' removes it
      if (this.#awaitingPong.has(ws)) {
        ws.terminate();
        continue;
      }
      this.#awaitingPong.add(ws);
      ws.ping();
    }
  }
}

/**
 * A WebSocket server sharing an HTTP server's port: upgrade requests for `path` become sockets
 * (graphql-transport-ws protocol only), anything else is refused. Queries keep using HTTP on the
 * same path. Pass graphql-ws's `useServer` a keep-alive of 0: this server pings (see keepAlive).
 */
export function attachWebSocketServer(server: Server, path: string, options: AttachOptions): AttachedSockets {
  const keepAlive =
    options.keepAliveMs > 0 && Number.isFinite(options.keepAliveMs) ? new KeepAlive(options.keepAliveMs) : undefined;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_PAYLOAD_BYTES,
    handleProtocols: (protocols) => handleProtocols(protocols) || false,
  });
  const perAddress = new Map<string, number>();
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname !== path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const address = options.perAddress?.addressOf(request);
    if (address !== undefined && (perAddress.get(address) ?? 0) >= options.perAddress!.max) {
      refuseUpgrade(socket, 429, `Too many connections from this address: at most ${options.perAddress!.max}`, [
        'Retry-After: 10',
      ]);
      return;
    }
    // The address's slot is taken now, before admission is decided, so upgrades racing each
    // other cannot all pass the count.
    let released = false;
    const release = (): void => {
      if (released || address === undefined) return;
      released = true;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    };
    if (address !== undefined) perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    Promise.resolve()
      .then(() => options.admit?.(request))
      .then(
        (refused) => {
          if (refused) {
            release();
            refuseUpgrade(socket, refused.status, refused.reason, refused.headers);
            return;
          }
          if (socket.destroyed) return release();
          wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
            keepAlive?.add(ws);
            ws.once('close', release);
            wss.emit('connection', ws, request);
          });
        },
        () => {
          release();
          socket.destroy();
        },
      );
  };
  server.on('upgrade', onUpgrade);
  let closing: Promise<void> | undefined;
  return {
    wss,
    get size() {
      return wss.clients.size;
    },
    close: () =>
      (closing ??= (async () => {
        server.off('upgrade', onUpgrade);
        keepAlive?.stop();
        const closed = [...wss.clients].map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === ws.CLOSED) return resolve();
              const timer = setTimeout(() => {
                ws.terminate();
                resolve();
              }, 1000);
              ws.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              ws.close(CloseCode.GoingAway, 'Server shutting down');
            }),
        );
        await Promise.all(closed);
        // Already closed when graphql-ws disposed of it: the callback then gets an error to ignore.
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      })()),
  };
}
