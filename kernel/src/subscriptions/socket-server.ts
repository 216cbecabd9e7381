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
}

/**
 * Keeps `ws` alive, as graphql-ws's keep-alive does, except that the first ping comes at a random
 * point of the second half of the first interval: sockets that connected together (a reconnect
 * storm after a deploy, a benchmark) would otherwise ping, and answer, together ever after.
 */
function keepAlive(ws: WebSocket, intervalMs: number): void {
  if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) return;
  let awaitingPong = false;
  let timer: NodeJS.Timeout | undefined;
  const beat = (): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (awaitingPong) {
      ws.terminate();
      return;
    }
    awaitingPong = true;
    ws.ping();
    timer = setTimeout(beat, intervalMs).unref();
  };
  ws.on('pong', () => (awaitingPong = false));
  ws.once('close', () => clearTimeout(timer));
  timer = setTimeout(beat, intervalMs * (0.5 + Math.random() / 2)).unref();
}

/**
 * A WebSocket server sharing an HTTP server's port: upgrade requests for `path` become sockets
 * (graphql-transport-ws protocol only), anything else is refused. Queries keep using HTTP on the
 * same path. Pass graphql-ws's `useServer` a keep-alive of 0: this server pings (see keepAlive).
 */
export function attachWebSocketServer(server: Server, path: string, options: AttachOptions): AttachedSockets {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_PAYLOAD_BYTES,
    handleProtocols: (protocols) => handleProtocols(protocols) || false,
  });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname !== path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      keepAlive(ws, options.keepAliveMs);
      wss.emit('connection', ws, request);
    });
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
