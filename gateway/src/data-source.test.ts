import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CLIENT_ADDRESS_HEADER, DEADLINE_HEADER, signClientAddress } from '@platform/kernel/gateway';
import { runWithRequest, waitFor } from '@platform/kernel/testing';
import { keepAliveFetcher } from './data-source.js';

/** A subgraph stand-in that answers after `delayMs`, counting requests and the sockets they came on. */
class SlowSubgraph {
  readonly requests: Array<{ body: string; headers: IncomingMessage['headers'] }> = [];
  readonly sockets = new Set<unknown>();
  readonly server: Server;
  delayMs = 50;
  /** Requests whose caller hung up before the answer. */
  abandoned = 0;
  /** Pads each answer to at least this many bytes. */
  answerBytes = 0;

  constructor() {
    this.server = createServer((req, res) => {
      this.sockets.add(req.socket);
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        this.requests.push({ body, headers: req.headers });
        const n = this.requests.length;
        const timer = setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify({ data: { n, pad: 'x'.repeat(this.answerBytes) } }));
        }, this.delayMs);
        res.once('close', () => {
          if (res.writableFinished) return;
          clearTimeout(timer);
          this.abandoned++;
        });
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/graphql`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const query = (text: string): string => JSON.stringify({ query: text, variables: {} });

describe('keepAliveFetcher', () => {
  const subgraph = new SlowSubgraph();
  let url: string;
  beforeAll(async () => {
    url = await subgraph.start();
  });
  afterAll(() => subgraph.stop());

  it('reuses connections, asks for no compression, and reads status, headers and JSON', async () => {
    const fetcher = keepAliveFetcher({ timeoutMs: 5000, maxResponseBytes: 1024 * 1024 });
    const before = subgraph.sockets.size;
    for (let i = 0; i < 3; i += 1) {
      const response = await fetcher(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: query('{ a }'),
      });
      expect(response.ok).toBe(true);
      expect(response.headers.get('Cache-Control')).toBe('no-store');
      await expect(response.json()).resolves.toMatchObject({ data: { n: expect.any(Number) } });
    }
    expect(subgraph.sockets.size - before).toBe(1);
    expect(subgraph.requests.at(-1)!.headers['accept-encoding']).toBeUndefined();
  });

  it('shares one call between identical queries in flight, each caller with its own parsed answer', async () => {
    const fetcher = keepAliveFetcher({ timeoutMs: 5000, dedupeQueries: true, maxResponseBytes: 1024 * 1024 });
    const before = subgraph.requests.length;
    // Different requests of the same caller, from different addresses and clients.
    const send = (requestId: string) =>
      fetcher(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: 'Bearer a',
          'x-request-id': requestId,
          [CLIENT_ADDRESS_HEADER]: signClientAddress('a test secret of at least 32 characters', `10.0.0.${requestId}`),
          [DEADLINE_HEADER]: String(5000 - Number(requestId)),
          'user-agent': `client ${requestId}`,
        },
        body: query('query Page { posts { id } }'),
      }).then((response) => response.json() as Promise<{ data: { n: number } }>);
    const answers = await Promise.all([send('1'), send('2'), send('3')]);
    expect(subgraph.requests.length - before).toBe(1);
    expect(answers.map((a) => a.data.n)).toEqual([answers[0]!.data.n, answers[0]!.data.n, answers[0]!.data.n]);
    expect(answers[0]).not.toBe(answers[1]);
    // Once answered, the next identical query is sent again.
    await send('4');
    expect(subgraph.requests.length - before).toBe(2);
  });

  it('never shares mutations, or queries of different callers', async () => {
    const fetcher = keepAliveFetcher({ timeoutMs: 5000, dedupeQueries: true, maxResponseBytes: 1024 * 1024 });
    const before = subgraph.requests.length;
    const call = (body: string, authorization?: string) =>
      fetcher(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
        body,
      });
    await Promise.all([
      call(query('mutation { like }')),
      call(query('mutation { like }')),
      call(query('{ me { id } }'), 'Bearer a'),
      call(query('{ me { id } }'), 'Bearer b'),
      call(query('{ me { id } }')),
    ]);
    expect(subgraph.requests.length - before).toBe(5);
  });

  it('refuses an answer over the ceiling with RESPONSE_TOO_LARGE, without reading it all', async () => {
    const fetcher = keepAliveFetcher({ timeoutMs: 5000, maxResponseBytes: 64 * 1024 });
    subgraph.answerBytes = 1024 * 1024;
    try {
      await expect(fetcher(url, { method: 'POST', body: query('{ big }') })).rejects.toMatchObject({
        extensions: { code: 'RESPONSE_TOO_LARGE', max: 64 * 1024 },
      });
    } finally {
      subgraph.answerBytes = 0;
    }
  });

  it("passes on what remains of the caller's deadline, and gives up the call when the caller goes away", async () => {
    const fetcher = keepAliveFetcher({ timeoutMs: 5000, dedupeQueries: true, maxResponseBytes: 1024 * 1024 });
    subgraph.delayMs = 1000;
    const abandonedBefore = subgraph.abandoned;
    try {
      const abort = new AbortController();
      const call = runWithRequest({ requestId: 'r', signal: abort.signal, deadline: Date.now() + 2000 }, () =>
        fetcher(url, { method: 'POST', headers: {}, body: query('{ gone }') }),
      );
      await waitFor(() => subgraph.requests.at(-1)?.body === query('{ gone }'));
      const sent = Number(subgraph.requests.at(-1)!.headers[DEADLINE_HEADER]);
      expect(sent).toBeGreaterThan(1000);
      expect(sent).toBeLessThanOrEqual(2000);
      abort.abort();
      await expect(call).rejects.toThrow();
      await waitFor(() => subgraph.abandoned === abandonedBefore + 1);
    } finally {
      subgraph.delayMs = 50;
    }
  });

  it('keeps a shared call going while one of its callers still waits', async () => {
    const fetcher = keepAliveFetcher({ timeoutMs: 5000, dedupeQueries: true, maxResponseBytes: 1024 * 1024 });
    subgraph.delayMs = 300;
    const abandonedBefore = subgraph.abandoned;
    try {
      const leaving = new AbortController();
      const ask = (signal: AbortSignal) =>
        runWithRequest({ requestId: 'r', signal }, () =>
          fetcher(url, { method: 'POST', headers: {}, body: query('{ shared }') }),
        );
      const first = ask(leaving.signal);
      const second = ask(new AbortController().signal);
      first.catch(() => {});
      await waitFor(() => subgraph.requests.at(-1)?.body === query('{ shared }'));
      leaving.abort();
      await expect((await second).json()).resolves.toMatchObject({ data: { n: expect.any(Number) } });
      expect(subgraph.abandoned).toBe(abandonedBefore);
    } finally {
      subgraph.delayMs = 50;
    }
  });

  it('fails a call that takes longer than the timeout', async () => {
    const fetcher = keepAliveFetcher({ timeoutMs: 20, maxResponseBytes: 1024 * 1024 });
    subgraph.delayMs = 500;
    try {
      await expect(fetcher(url, { method: 'POST', body: query('{ slow }') })).rejects.toThrow(/timed out/);
    } finally {
      subgraph.delayMs = 50;
    }
  });
});
