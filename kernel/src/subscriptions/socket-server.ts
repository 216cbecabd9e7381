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

/**
 * A WebSocket server sharing an HTTP server's port: upgrade requests for `path` become sockets
 * (graphql-transport-ws protocol only), anything else is refused. Queries keep using HTTP on the
 * same path.
 */
export function attachWebSocketServer(server: Server, path: string): AttachedSockets {
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
    wss.handleUpgrade(request, socket, head, (ws: WebSocket) => wss.emit('connection', ws, request));
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
