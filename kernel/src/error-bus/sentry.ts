import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { NodeClient } from '@sentry/node';
import type { Logger } from 'pino';
import type { ErrorReport, ErrorSink } from './error-bus.js';

/** `errors.sentry` in config. */
export interface SentryOptions {
  dsn: string;
  environment: string | null;
  release: string | null;
  /** Fraction of errors sent (0..1). */
  sampleRate: number;
}

type SentrySdk = typeof import('@sentry/node');

/** One client per process and settings: the services of one process (`npm start`) share its queue. */
const clients = new Map<string, { client: Promise<NodeClient>; users: number }>();

/**
 * The Sentry sink: `@sentry/node` loaded only now (a DSN is set), as a bare client that sends
 * captured errors and nothing else. No `Sentry.init`: no default integrations (nothing patches
 * http, express or the console, nothing handles `uncaughtException` — the kernel's runMain
 * does), no OpenTelemetry setup (the kernel runs its own SDK), no tracing, no sessions, no
 * client reports, no environment variables read behind the config's back. Events go to the
 * DSN's host only: the transport ignores proxy variables.
 */
export async function sentrySink(options: SentryOptions, logger: Pick<Logger, 'warn'>): Promise<ErrorSink> {
  const key = JSON.stringify(options);
  let entry = clients.get(key);
  if (!entry) {
    entry = { client: createClient(options, logger), users: 0 };
    clients.set(key, entry);
  }
  entry.users++;
  const shared = entry;
  const [client, sdk] = await Promise.all([shared.client, import('@sentry/node')]);
  let released = false;
  return {
    name: 'sentry',
    capture(report: ErrorReport): void {
      const scope = new sdk.Scope();
      scope.setClient(client);
      describe(scope, report);
      scope.captureException(report.error);
    },
    async flush(timeoutMs: number): Promise<void> {
      await client.flush(timeoutMs);
    },
    async close(timeoutMs: number): Promise<void> {
      if (released) return;
      released = true;
      if (--shared.users > 0) {
        await client.flush(timeoutMs);
        return;
      }
      clients.delete(key);
      await client.close(timeoutMs);
    },
  };
}

async function createClient(options: SentryOptions, logger: Pick<Logger, 'warn'>): Promise<NodeClient> {
  const sdk: SentrySdk = await import('@sentry/node');
  const dsnHost = new URL(options.dsn).host;
  const client = new sdk.NodeClient({
    dsn: options.dsn,
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.release ? { release: options.release } : {}),
    sampleRate: options.sampleRate,
    // Errors only: no spans, no sessions, no client reports; no request data (no integration reads any).
    sendClientReports: false,
    enableOpenTelemetrySetup: false,
    enableRuntimeChannelInjection: false,
    // Stack frames (parsed, with source lines read from local files) and `cause` chains.
    stackParser: sdk.defaultStackParser,
    integrations: [sdk.linkedErrorsIntegration(), sdk.contextLinesIntegration()],
    transport: (transportOptions) =>
      sdk.createTransport(transportOptions, dsnOnlyRequest(transportOptions.url, dsnHost, logger)),
  });
  client.init();
  return client;
}

/** Posts an envelope straight to the DSN's host (never through a proxy the environment names). */
function dsnOnlyRequest(
  url: string,
  dsnHost: string,
  logger: Pick<Logger, 'warn'>,
): Parameters<SentrySdk['createTransport']>[1] {
  const target = new URL(url);
  return (request) =>
    new Promise((resolve, reject) => {
      if (target.host !== dsnHost) {
        logger.warn({ host: target.host }, 'sentry: refusing to send an event anywhere but the DSN host');
        resolve({});
        return;
      }
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        target,
        { method: 'POST', headers: { 'content-type': 'application/x-sentry-envelope' }, timeout: 5000 },
        (res) => {
          res.resume();
          const header = (name: string): string | null => {
            const value = res.headers[name];
            return (Array.isArray(value) ? value[0] : value) ?? null;
          };
          resolve({
            statusCode: res.statusCode,
            headers: { 'retry-after': header('retry-after'), 'x-sentry-rate-limits': header('x-sentry-rate-limits') },
          });
        },
      );
      req.once('timeout', () => req.destroy(new Error('sentry: request timed out')));
      req.once('error', reject);
      req.end(request.body);
    });
}

/** The report's fields as Sentry's tags (searchable), user, extra data and trace context. */
function describe(scope: import('@sentry/node').Scope, report: ErrorReport): void {
  const { module, kind, requestId, traceId, spanId, userId, operation, queue, topic, subgraph } = report;
  scope.setLevel(kind === 'process' ? 'fatal' : 'error');
  const tags: Record<string, string> = { module, kind };
  for (const [name, value] of Object.entries({ requestId, traceId, operation, queue, topic, subgraph })) {
    if (value !== undefined) tags[name] = value;
  }
  scope.setTags(tags);
  if (userId) scope.setUser({ id: userId });
  const { jobId, attempt, eventId, group, dead, path, extra } = report;
  scope.setExtras({
    ...extra,
    ...Object.fromEntries(
      Object.entries({ jobId, attempt, eventId, group, dead, path }).filter(([, value]) => value !== undefined),
    ),
  });
  // The event joins the OpenTelemetry trace the kernel's logs and spans carry.
  if (traceId) {
    scope.setPropagationContext({
      traceId,
      sampleRand: Math.random(),
      ...(spanId ? { propagationSpanId: spanId } : {}),
    });
  }
}
