// The subscriptions benchmark's lean WebSocket client (bench/subscriptions/wire-socket.ts) against
// the `ws` server the gateway uses: what it measures with must speak the protocol correctly.
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { WebSocketServer, type WebSocket } from 'ws';
import { WireSocket, type WireSocketOptions } from '../bench/subscriptions/wire-socket.js';

let wss: WebSocketServer | undefined;
let lastUserAgent: string | undefined;

afterEach(async () => {
  for (const client of wss?.clients ?? []) client.terminate();
  await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
  wss = undefined;
});

async function serve(
  protocol: string | false = 'graphql-transport-ws',
): Promise<{ url: string; next: () => Promise<WebSocket> }> {
  wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => protocol });
  await new Promise<void>((resolve) => wss!.once('listening', () => resolve()));
  const waiting: Array<(socket: WebSocket) => void> = [];
  const accepted: WebSocket[] = [];
  wss.on('connection', (socket, request) => {
    lastUserAgent = request.headers['user-agent'];
    const waiter = waiting.shift();
    if (waiter) waiter(socket);
    else accepted.push(socket);
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/graphql`,
    next: () => {
      const ready = accepted.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

function client(url: string, received: string[], overrides: Partial<WireSocketOptions> = {}): Promise<WireSocket> {
  return WireSocket.connect({
    url,
    protocol: 'graphql-transport-ws',
    headers: { 'user-agent': 'wire-socket-test' },
    stamp: () => performance.now(),
    onMessage: (text) => received.push(text),
    onError: (error) => {
      throw error;
    },
    ...overrides,
  });
}

const until = async (condition: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
};

describe('the benchmark WebSocket client', () => {
  it('upgrades with the subprotocol and headers, and exchanges text messages of every length encoding', async () => {
    const { url, next } = await serve();
    const received: string[] = [];
    const fromClient: string[] = [];
    const socket = await client(url, received);
    const server = await next();
    server.on('message', (data) => fromClient.push(String(data)));
    expect(server.protocol).toBe('graphql-transport-ws');
    expect(lastUserAgent).toBe('wire-socket-test');

    // 7-bit, 16-bit and 64-bit payload lengths, and multi-byte UTF-8.
    const messages = ['{"type":"ping"}', `{"x":"${'é'.repeat(200)}"}`, 'y'.repeat(70_000)];
    for (const message of messages) server.send(message);
    await until(() => received.length === messages.length);
    expect(received).toEqual(messages);

    socket.send('{"type":"connection_init","payload":{}}');
    socket.send('z'.repeat(300));
    await until(() => fromClient.length === 2);
    expect(fromClient).toEqual(['{"type":"connection_init","payload":{}}', 'z'.repeat(300)]);
    await socket.close();
  });

  it('answers WebSocket pings with pongs carrying the same data', async () => {
    const { url, next } = await serve();
    await client(url, []);
    const server = await next();
    const pong = new Promise<string>((resolve) => server.once('pong', (data) => resolve(String(data))));
    server.ping('are you there');
    expect(await pong).toBe('are you there');
  });

  it('reports the close code the server sent and ends the connection', async () => {
    const { url, next } = await serve();
    const socket = await client(url, []);
    const server = await next();
    const serverClosed = new Promise<number>((resolve) => server.once('close', (code) => resolve(code)));
    server.close(4403, 'Forbidden');
    await socket.closed;
    expect(socket.closeCode).toBe(4403);
    expect(await serverClosed).toBe(4403);
  });

  it('refuses a server that did not agree to the subprotocol', async () => {
    const { url } = await serve(false);
    await expect(client(url, [])).rejects.toThrow(/subprotocol/);
  });
});
