import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One event as a Sentry ingest receives it (the fields the tests read). */
export interface ReceivedEvent {
  level?: string;
  environment?: string;
  release?: string;
  tags?: Record<string, string>;
  user?: { id?: string };
  extra?: Record<string, unknown>;
  contexts?: { trace?: { trace_id?: string; span_id?: string } };
  exception?: {
    values?: Array<{ type?: string; value?: string; stacktrace?: { frames?: Array<{ filename?: string }> } }>;
  };
}

/**
 * A local HTTP server posing as Sentry's ingest: it takes envelopes (`POST /api/<project>/envelope/`),
 * keeps their events, and answers 200 like Sentry does. `dsn` points a client at it.
 */
export class SentryReceiver {
  readonly events: ReceivedEvent[] = [];
  /** Every request's path and headers, to check nothing but envelopes arrives. */
  readonly requests: Array<{ method: string; url: string }> = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<SentryReceiver> {
    const server = createServer();
    const receiver = new SentryReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        receiver.requests.push({ method: req.method ?? '', url: req.url ?? '' });
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        receiver.events.push(...eventsOf(body.toString('utf8')));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get dsn(): string {
    return `http://publickey@127.0.0.1:${(this.#server.address() as AddressInfo).port}/1`;
  }

  /** Resolves with the first event the predicate accepts, polling until `timeoutMs`. */
  async waitForEvent(predicate: (event: ReceivedEvent) => boolean, timeoutMs = 10_000): Promise<ReceivedEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(`no matching Sentry event within ${timeoutMs} ms; received: ${JSON.stringify(this.events)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** An envelope: a header line, then (item header, item payload) line pairs; events are items of type `event`. */
export function eventsOf(envelope: string): ReceivedEvent[] {
  const lines = envelope.split('\n');
  const events: ReceivedEvent[] = [];
  for (let i = 1; i + 1 < lines.length; i += 2) {
    const header = JSON.parse(lines[i]!) as { type?: string };
    if (header.type === 'event') events.push(JSON.parse(lines[i + 1]!) as ReceivedEvent);
  }
  return events;
}
