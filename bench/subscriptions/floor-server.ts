// The floor benchmark's server (bench/subscriptions-floor.ts), run as a child process as the platform
// is: a bare graphql-transport-ws server that does nothing but write. It takes sockets through the
// gateway's own socket layer (`attachWebSocketServer`: the same `ws` settings and the same
// jittered keep-alive pings, `--keep-alive-ms`), acknowledges `connection_init`, remembers each
// `subscribe`, and on the parent's `send` writes one `postCreated` frame (the size and shape the
// gateway writes) to every subscriber in one synchronous loop, as the gateway's fan-out does
// (gateway/src/subscriptions/frames.ts). No database, no bus, no completion: what is left is the
// cost of the writes and of the reads.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebSocket } from 'ws';
import { attachWebSocketServer } from '@platform/kernel/tools';
import { now, shareClock } from './clock.js';

export type ToFloorServer = { type: 'send'; id: string } | { type: 'stop' };
export type FromFloorServer =
  { type: 'listening'; port: number } | { type: 'sent'; id: string; at: number; writeMs: number; sockets: number };

// The benchmark's clock (clock.ts): its base comes as the second argument.
shareClock(Number(process.argv[3]));

const send = (message: FromFloorServer): void => void process.send!(message);
const subscribers: Array<{ socket: WebSocket; prefix: string }> = [];

const http = createServer((_request, response) => response.writeHead(404).end());
const sockets = attachWebSocketServer(http, '/graphql', { keepAliveMs: Number(process.argv[2] ?? 12_000) });

sockets.wss.on('connection', (socket: WebSocket) => {
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as { type: string; id?: string };
    if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
    else if (message.type === 'ping') socket.send('{"type":"pong"}');
    else if (message.type === 'subscribe' && message.id)
      subscribers.push({ socket, prefix: `{"id":${JSON.stringify(message.id)},"type":"next","payload":` });
  });
  socket.on('close', () => {
    const at = subscribers.findIndex((subscriber) => subscriber.socket === socket);
    if (at >= 0) subscribers.splice(at, 1);
  });
});

http.listen(0, '127.0.0.1', () => send({ type: 'listening', port: (http.address() as AddressInfo).port }));

process.on('message', (message: ToFloorServer) => {
  if (message.type === 'stop') {
    void sockets.close().then(() => http.close(() => process.exit(0)));
    return;
  }
  const payload = JSON.stringify({
    data: {
      postCreated: {
        id: message.id,
        title: `floor ${message.id}`,
        author: { id: '00000000-0000-4000-8000-0000000000b1', displayName: 'Bench Writer' },
      },
    },
  });
  const at = now();
  let written = 0;
  for (const { socket, prefix } of subscribers) {
    if (socket.readyState !== socket.OPEN) continue;
    socket.send(prefix + payload + '}');
    written++;
  }
  send({ type: 'sent', id: message.id, at, writeMs: now() - at, sockets: written });
});
