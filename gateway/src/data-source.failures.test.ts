// Which failed subgraph calls the gateway publishes to its error bus: answers no healthy subgraph
// gives are bugs (published, kind subgraph); a subgraph that is down or overloaded is an
// operational state (a warning). Either way the error is settled, so masking does not publish it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { ErrorReporter } from '@platform/kernel/gateway';
import { ForwardingDataSource } from './data-source.js';
import { keepAliveFetcher } from './keep-alive-fetcher.js';

/** Status, content type and body per path, as a broken (or struggling) subgraph would answer. */
const ANSWERS: Record<string, [number, string, string]> = {
  '/crash-500': [500, 'text/html', '<pre>TypeError: cannot read properties of undefined</pre>'],
  '/not-json': [200, 'text/plain', 'hello'],
  '/teapot': [418, 'text/plain', 'short and stout'],
  '/overloaded': [503, 'text/plain', 'try later'],
  '/proxy': [502, 'text/html', '<h1>Bad gateway</h1>'],
  '/ok': [200, 'application/json', JSON.stringify({ data: { a: 1 } })],
};

// The enum is not among @apollo/gateway's ESM exports; its value is this string.
const OPERATION = 'incoming operation' as GraphQLDataSourceProcessOptions['kind'] & 'incoming operation';

describe('ForwardingDataSource failures', () => {
  let server: Server;
  let base: string;
  const reports: Array<{ error: unknown; context: unknown }> = [];
  const warnings: Array<Record<string, unknown>> = [];
  const errors: ErrorReporter = {
    report: (error, context) => {
      reports.push({ error, context });
      return true;
    },
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const [status, type, body] = ANSWERS[req.url ?? ''] ?? [404, 'text/plain', 'no'];
      req.resume();
      req.on('end', () => res.writeHead(status, { 'content-type': type }).end(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const call = (url: string): Promise<unknown> => {
    reports.length = 0;
    warnings.length = 0;
    const source = new ForwardingDataSource({
      url,
      fetcher: keepAliveFetcher({ timeoutMs: 2000, maxResponseBytes: 1 << 20 }),
      clientAddressSecret: 'x'.repeat(32),
      credential: 'service-credential',
      failures: {
        subgraph: 'blog',
        logger: { warn: (fields: Record<string, unknown>) => warnings.push(fields) },
        errors,
      },
    });
    const http = { method: 'POST', url, headers: new Headers() };
    return source.process({
      kind: OPERATION,
      request: { query: '{ a }', http },
      context: { requestId: 'req-gw-1', trace: ROOT_CONTEXT },
    } as unknown as GraphQLDataSourceProcessOptions<never>);
  };

  it.each([
    ['a 500 without a GraphQL body', '/crash-500', 500],
    ['a body that is not JSON', '/not-json', undefined],
    ['a status no subgraph sends', '/teapot', 418],
  ])('publishes %s with the subgraph and request id', async (_case, path, status) => {
    const failure = await call(`${base}${path}`).catch((error: unknown) => error);
    expect(failure).toHaveProperty('message');
    expect(reports).toEqual([
      {
        error: failure,
        context: expect.objectContaining({
          kind: 'subgraph',
          subgraph: 'blog',
          requestId: 'req-gw-1',
          ...(status === undefined ? {} : { extra: { status } }),
        }),
      },
    ]);
    expect(warnings).toEqual([]);
  });

  it.each([
    ['a subgraph that is not listening', 'http://127.0.0.1:1/graphql', undefined],
    ['a 503 (overloaded or stopping)', '/overloaded', 503],
    ['a 502 from a proxy in front of it', '/proxy', 502],
  ])('only warns about %s', async (_case, target, status) => {
    const url = target.startsWith('/') ? `${base}${target}` : target;
    await expect(call(url)).rejects.toThrow();
    expect(reports).toEqual([]);
    expect(warnings).toEqual([expect.objectContaining({ subgraph: 'blog', status })]);
  });

  it('reports nothing for an answer', async () => {
    await expect(call(`${base}/ok`)).resolves.toMatchObject({ data: { a: 1 } });
    expect(reports).toEqual([]);
    expect(warnings).toEqual([]);
  });
});
