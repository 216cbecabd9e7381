// The floor benchmark's server (bench/subscriptions-floor.ts), run as a child process as the platform
// is: a bare graphql-transport-ws server on `ws` that does nothing but write. It acknowledges
// `connection_init`, remembers each `subscribe`, answers pings, and on the parent's `send` writes
// one `postCreated` frame (the size and shape the gateway writes) to every subscriber in one
// synchronous loop, as the gateway's fan-out does (gateway/src/subscriptions/frames.ts). No
// database, no bus, no completion: what is left is the cost of the writes and of the reads.
import { WebSocketServer, type WebSocket } from 'ws';

export type ToFloorServer = { type: 'send'; id: string } | { type: 'stop' };
export type FromFloorServer =
  { type: 'listening'; port: number } | { type: 'sent'; id: string; at: number; writeMs: number; sockets: number };

/** Epoch ms, comparable with the benchmark process's `now()`. */
const now = (): number => performance.timeOrigin + performance.now();

const send = (message: FromFloorServer): void => void process.send!(message);
const subscribers: Array<{ socket: WebSocket; prefix: string }> = [];

const server = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false),
});

server.on('connection', (socket) => {
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

server.on('listening', () => {
  const address = server.address();
  if (typeof address === 'object' && address) send({ type: 'listening', port: address.port });
});

process.on('message', (message: ToFloorServer) => {
  if (message.type === 'stop') {
    for (const { socket } of subscribers) socket.terminate();
    server.close(() => process.exit(0));
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
  let sockets = 0;
  for (const { socket, prefix } of subscribers) {
    if (socket.readyState !== socket.OPEN) continue;
    socket.send(prefix + payload + '}');
    sockets++;
  }
  send({ type: 'sent', id: message.id, at, writeMs: now() - at, sockets });
});
