import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import {
  CLIENT_ADDRESS_HEADER,
  DEADLINE_HEADER,
  SERVICE_CREDENTIAL_HEADER,
  SHARED_ANSWER_HEADER,
  signClientAddress,
  verifyClientAddress,
} from '@platform/kernel/gateway';
import { runWithRequest, waitFor } from '@platform/kernel/testing';
import { ForwardingDataSource, type GatewayContext } from './data-source.js';
import { keepAliveFetcher } from './keep-alive-fetcher.js';

/** A subgraph stand-in that answers after `delayMs`, counting requests and the sockets they came on. */
class SlowSubgraph {
  readonly requests: Array<{ method?: string; body: string; headers: IncomingMessage['headers'] }> = [];
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
        this.requests.push({ method: req.method, body, headers: req.headers });
        const n = this.requests.length;
        const timer = setTimeout(() => {
          // Two cookies: a header Node hands over as a list.
          res.setHeader('set-cookie', ['a=1', 'b=2']);
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

/** Everything an iterator yields (the fetcher's header type declares bare iterators). */
function drain<T>(iterator: Iterator<T>): T[] {
  const values: T[] = [];
  for (let next = iterator.next(); !next.done; next = iterator.next()) values.push(next.value);
  return values;
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
  it('sends a call without options as an empty POST', async () => {
    const fetcher = keepAliveFetcher({ timeoutMs: 5000, maxResponseBytes: 1024 * 1024 });
    const response = await fetcher(url);
    expect(response.status).toBe(200);
    expect(subgraph.requests.at(-1)).toMatchObject({ method: 'POST', body: '', headers: { 'content-length': '0' } });
  });

  it('shares identical queries sent without headers, and never a GET or a body that is no query', async () => {
    const fetcher = keepAliveFetcher({ timeoutMs: 5000, dedupeQueries: true, maxResponseBytes: 1024 * 1024 });
    subgraph.delayMs = 200;
    try {
      const before = subgraph.requests.length;
      await Promise.all([
        fetcher(url, { method: 'POST', body: query('query { bare }') }),
        fetcher(url, { method: 'POST', body: query('query { bare }') }),
      ]);
      expect(subgraph.requests.length - before).toBe(1);
      await Promise.all([
        fetcher(url, { method: 'GET' }),
        fetcher(url, { method: 'GET' }),
        fetcher(url, { method: 'POST', body: '{"variables":{},"query":"{ a }"}' }),
        fetcher(url, { method: 'POST', body: '{"variables":{},"query":"{ a }"}' }),
      ]);
      expect(subgraph.requests.length - before).toBe(5);
    } finally {
      subgraph.delayMs = 50;
    }
  });

  it("reads the answer's headers case-insensitively, a repeated header as one list, and the body as bytes", async () => {
    const fetcher = keepAliveFetcher({ timeoutMs: 5000, maxResponseBytes: 1024 * 1024 });
    const response = await fetcher(url, { method: 'POST', body: query('{ bytes }') });
    const headers = response.headers;
    expect(headers.get('Set-Cookie')).toBe('a=1, b=2');
    expect(headers.get('x-absent')).toBeNull();
    expect(headers.has('CONTENT-TYPE')).toBe(true);
    headers.append('X-Seen', 'one');
    headers.append('x-seen', 'two');
    expect(headers.get('x-seen')).toBe('one, two');
    headers.set('X-Seen', 'three');
    expect(headers.get('x-seen')).toBe('three');
    headers.delete('X-SEEN');
    expect(headers.has('x-seen')).toBe(false);
    expect(drain(headers.keys())).toContain('content-type');
    expect(drain(headers.values())).toContain('application/json');
    expect(new Map([...headers]).get('cache-control')).toBe('no-store');
    expect(new Map(drain(headers.entries())).get('cache-control')).toBe('no-store');
    const copy = response.clone();
    expect(response.bodyUsed).toBe(false);
    const bytes = await response.arrayBuffer();
    expect(response.bodyUsed).toBe(true);
    expect(JSON.parse(Buffer.from(bytes).toString('utf8'))).toMatchObject({ data: { n: expect.any(Number) } });
    // A clone reads the same answer again, headers included.
    expect(copy.bodyUsed).toBe(false);
    expect(copy.headers.get('set-cookie')).toBe('a=1, b=2');
    await expect(copy.json()).resolves.toMatchObject({ data: { n: expect.any(Number) } });
  });
});

describe('ForwardingDataSource', () => {
  const SECRET = 'x'.repeat(32);
  const source = new ForwardingDataSource({
    url: 'http://127.0.0.1:1/graphql',
    fetcher: keepAliveFetcher({ timeoutMs: 1000, maxResponseBytes: 1024 }),
    clientAddressSecret: SECRET,
    credential: 'service-credential',
  });
  type Options = Parameters<ForwardingDataSource['willSendRequest']>[0];
  /** The headers a subgraph call carries, for `context`. */
  const sent = (context: Partial<GatewayContext> | Record<string, never>): Headers => {
    const headers = new Headers();
    source.willSendRequest({
      request: { query: '{ a }', http: { method: 'POST', url: source.url, headers } },
      context,
    } as unknown as Options);
    return headers;
  };

  it("passes on the caller's request id, token, signed address, user agent, language and shared-answer request", () => {
    const headers = sent({
      requestId: 'req-1',
      authorization: 'Bearer t',
      clientIp: '203.0.113.5',
      userAgent: 'agent/1',
      locale: 'de',
      sharedAnswer: true,
      trace: ROOT_CONTEXT,
    });
    expect(headers.get(SERVICE_CREDENTIAL_HEADER)).toBe('service-credential');
    expect(headers.get('x-request-id')).toBe('req-1');
    expect(headers.get('authorization')).toBe('Bearer t');
    expect(headers.get('user-agent')).toBe('agent/1');
    expect(headers.get('accept-language')).toBeNull(); // a shared answer stays English
    expect(sent({ requestId: 'req-1', locale: 'de', trace: ROOT_CONTEXT }).get('accept-language')).toBe('de');
    expect(headers.get(SHARED_ANSWER_HEADER)).toBe('1');
    // Signed with the deployment's secret: a subgraph believes it, and no other secret verifies it.
    expect(verifyClientAddress(SECRET, headers.get(CLIENT_ADDRESS_HEADER))).toBe('203.0.113.5');
    expect(verifyClientAddress('y'.repeat(32), headers.get(CLIENT_ADDRESS_HEADER))).toBeUndefined();
  });

  it('passes on only what the caller had, and only the service credential outside a request', () => {
    const guest = sent({ requestId: 'req-2', trace: ROOT_CONTEXT });
    expect(guest.get('x-request-id')).toBe('req-2');
    for (const name of [
      'authorization',
      CLIENT_ADDRESS_HEADER,
      'user-agent',
      'accept-language',
      SHARED_ANSWER_HEADER,
    ]) {
      expect(guest.get(name)).toBeNull();
    }
    // Composition and health checks run outside any client request.
    const internal = sent({});
    expect([...internal.keys()]).toEqual([SERVICE_CREDENTIAL_HEADER]);
  });

  it('leaves a request without HTTP headers alone', () => {
    const request = { query: '{ a }' };
    source.willSendRequest({ request, context: { requestId: 'r', trace: ROOT_CONTEXT } } as unknown as Options);
    expect(request).toEqual({ query: '{ a }' });
  });
});
