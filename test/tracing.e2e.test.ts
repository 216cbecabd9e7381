import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { graphqlAt, startTestPlatform, type TestPlatform } from './helpers.js';

/** One span as OTLP/HTTP JSON carries it, with its resource's service.name. */
interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

interface OtlpJson {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans?: Array<{ spans?: Array<Omit<ExportedSpan, 'service'>> }>;
  }>;
}

/**
 * One process running every service (as `npm start` does), exporting to a real OTLP/HTTP
 * receiver: each service's spans carry its own service.name, and a subgraph's request span
 * nests under the gateway's fetch span for it.
 */
describe('tracing with every service in one process', () => {
  const spans: ExportedSpan[] = [];
  let receiver: Server;
  let platform: TestPlatform | undefined;
  let traceOf: (name: string) => string | undefined;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJson;
        for (const resourceSpans of body.resourceSpans ?? []) {
          const service = resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) spans.push({ ...span, service: service ?? '(none)' });
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    platform = await startTestPlatform({
      tracing: { otlpEndpoint: `http://127.0.0.1:${port}/v1/traces`, sampleRatio: 1 },
    });
    for (const [, query] of [
      ['posts', '{ posts(first: 2) { totalCount } }'],
      [
        'register',
        'mutation { register(input: { email: "traced@example.com", password: "a traced passphrase 42", displayName: "T" }) { id } }',
      ],
    ] as const) {
      const body = await graphqlAt(platform.gateway.url, query);
      expect(body.errors).toBeUndefined();
    }
    // Stopping every service shuts tracing down, which flushes what is batched to the receiver.
    await platform.stop();
    platform = undefined;
    traceOf = (spanName) => spans.find((span) => span.name === spanName)?.traceId;
  }, 120_000);

  afterAll(async () => {
    await platform?.stop();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it("exports each service's spans under its own service.name", () => {
    const services = new Set(spans.map((span) => span.service));
    expect([...services].sort()).toEqual(expect.arrayContaining(['blog', 'gateway', 'identity']));
    // The gateway's own (Apollo's) spans are the gateway's, not the first service's.
    expect(spans.filter((span) => span.name === 'gateway.fetch').every((span) => span.service === 'gateway')).toBe(
      true,
    );
    expect(spans.filter((span) => span.name === 'gateway.fetch').length).toBeGreaterThanOrEqual(2);
    expect(traceOf('gateway.fetch')).toBeDefined();
  });

  it("nests each subgraph's request span under the gateway's fetch span for it", () => {
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const subgraphRequests = spans.filter(
      (span) => span.name === 'POST /graphql' && (span.service === 'blog' || span.service === 'identity'),
    );
    expect(subgraphRequests.map((span) => span.service).sort()).toEqual(expect.arrayContaining(['blog', 'identity']));
    for (const request of subgraphRequests) {
      const parent = request.parentSpanId ? byId.get(request.parentSpanId) : undefined;
      expect({ service: request.service, parent: parent && { name: parent.name, service: parent.service } }).toEqual({
        service: request.service,
        parent: { name: 'gateway.fetch', service: 'gateway' },
      });
      // And the fetch span belongs to the gateway's request, in the same trace.
      expect(parent!.traceId).toBe(request.traceId);
    }
    // The subgraph's database statements are its own spans.
    expect(spans.some((span) => span.name === 'db.query' && span.service === 'blog')).toBe(true);
  });
});
