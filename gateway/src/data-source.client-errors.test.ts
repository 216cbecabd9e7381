import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { readingClientErrors } from './data-source.js';

type Fetcher = RemoteGraphQLDataSource['fetcher'];

/** Answers every request with the status, content type and body of the path asked for. */
const ANSWERS: Record<string, [number, string, string]> = {
  '/bad-input': [
    400,
    'application/json; charset=utf-8',
    JSON.stringify({
      data: null,
      errors: [{ message: 'after: is not a valid cursor', path: ['posts'], extensions: { code: 'BAD_USER_INPUT' } }],
    }),
  ],
  '/graphql-response': [
    400,
    'application/graphql-response+json',
    JSON.stringify({ errors: [{ message: 'x', extensions: { code: 'BAD_USER_INPUT' } }] }),
  ],
  '/html-400': [400, 'text/html', '<h1>Bad Request</h1>'],
  '/untyped-400': [400, '', JSON.stringify({ errors: [{ message: 'x' }] })],
  '/json-500': [500, 'application/json', JSON.stringify({ errors: [{ message: 'Internal server error' }] })],
  '/json-404': [404, 'application/json', JSON.stringify({ errors: [{ message: 'Not found' }] })],
  '/ok': [200, 'application/json', JSON.stringify({ data: { a: 1 } })],
};

// The enum is not among @apollo/gateway's ESM exports; its value is this string.
const HEALTH_CHECK = 'health check' as GraphQLDataSourceProcessOptions['kind'] & 'health check';

describe('readingClientErrors', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const [status, type, body] = ANSWERS[req.url ?? ''] ?? [404, 'text/plain', 'no'];
      req.resume();
      req.on('end', () => res.writeHead(status, type ? { 'content-type': type } : {}).end(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const ask = (path: string) =>
    new RemoteGraphQLDataSource({
      url: `${base}${path}`,
      fetcher: readingClientErrors(fetch as unknown as Fetcher),
    }).process({ kind: HEALTH_CHECK, request: { query: '{ a }' }, context: {} });

  it.each(['/bad-input', '/graphql-response'])(
    'reads a GraphQL body that came with a 400 (%s) as the answer, codes and paths kept',
    async (path) => {
      const response = await ask(path);
      expect(response.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
      if (path === '/bad-input') expect(response).toMatchObject({ data: null, errors: [{ path: ['posts'] }] });
    },
  );

  it('passes a 200 through untouched', async () => {
    expect(await ask('/ok')).toMatchObject({ data: { a: 1 } });
  });

  it.each([
    ['a 400 that is not GraphQL', '/html-400', '400: Bad Request'],
    ['a 400 that names no content type', '/untyped-400', '400: Bad Request'],
    ['a 500', '/json-500', '500: Internal Server Error'],
    ['a 404', '/json-404', '404: Not Found'],
  ])('leaves %s a failed fetch', async (_case, path, message) => {
    await expect(ask(path)).rejects.toThrow(message);
  });

  it("hands over a GraphQL 400 as a 200 that reads, clones and describes the subgraph's own answer", async () => {
    const url = `${base}/bad-input`;
    const response = await readingClientErrors(fetch as unknown as Fetcher)(url, { method: 'POST', body: '{}' });
    expect(response).toMatchObject({ ok: true, status: 200, statusText: 'OK', url, redirected: false });
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const copy = response.clone();
    expect(copy.status).toBe(200);
    expect(response.bodyUsed).toBe(false);
    await expect(response.json()).resolves.toMatchObject({ errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] });
    expect(response.bodyUsed).toBe(true);
    expect(JSON.parse(Buffer.from(await copy.clone().arrayBuffer()).toString('utf8'))).toMatchObject({ data: null });
    expect(JSON.parse(await copy.text())).toMatchObject({ errors: [{ path: ['posts'] }] });
  });
});
