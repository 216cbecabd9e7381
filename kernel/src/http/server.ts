import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import cors from 'cors';
import compression from 'compression';
import { context, trace, SpanKind, SpanStatusCode, type Context } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { PlatformConfig } from '../config/schema.js';
import type { Readiness } from '../health/health.js';
import type { ErrorReporter } from '../error-bus/error-bus.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { extractContext, inService, tracer } from '../tracing/tracing.js';
import { negotiateLocale } from '../i18n/index.js';
import { currentRequest, requestIdFrom, runWithRequest, type RequestContext } from './request-context.js';
import { ErrorCode, RequestAbortedError } from '../errors.js';
import { CLIENT_ADDRESS_HEADER, verifyClientAddress } from './client-address.js';
import { requireServiceCredential } from '../security/service-credential.js';

const SAVED_CONTEXT = Symbol('platform.context') as unknown as string;
const TIMEOUT = Symbol('platform.timeout') as unknown as string;

/**
 * What remains of a request's deadline, in ms, as the gateway tells a subgraph: the subgraph
 * stops at whichever comes first, this or its own `http.requestTimeoutMs`.
 */
export const DEADLINE_HEADER = 'x-platform-deadline-ms';

export interface HttpServiceOptions {
  config: Pick<PlatformConfig, 'http' | 'host'>;
  logger: Logger;
  metrics: ServiceMetrics;
  readiness: Readiness;
  /** gzip/brotli responses (the gateway, facing browsers); subgraphs leave it off. */
  compression?: boolean;
  /**
   * Relaxes the content security policy so Apollo Sandbox (scripts from Apollo's CDN) can load on
   * GET /graphql. The gateway's GraphiQL sets its own strict policy on its responses instead.
   */
  sandbox?: boolean;
  /**
   * The deployment's service secret, on services behind the gateway: a client address the
   * gateway signed with it (`X-Platform-Client`) is believed. Without it only the peer address,
   * or a trusted proxy's `X-Forwarded-For`, names the client.
   */
  clientAddressSecret?: string;
  /**
   * `/metrics` answers only this service credential (header or `Authorization: Bearer`), 401
   * otherwise (`metrics.requireCredential`). Unset: open, as in development.
   */
  metricsCredential?: string;
  /** Hears each refused credential (the route and whether one was presented at all). */
  onCredentialRefused?: (path: string, presented: boolean) => void;
  /** Where unhandled route errors (answered 500) are published; without it they are only logged. */
  errors?: ErrorReporter;
}

/** A JSON error body in the GraphQL shape, so clients parse every failure the same way. */
export function errorBody(message: string, code: string, extra: Record<string, unknown> = {}): unknown {
  const requestId = currentRequest()?.requestId;
  return { errors: [{ message, extensions: { code, ...(requestId ? { requestId } : {}), ...extra } }] };
}

/**
 * The HTTP side of a service: request ids, trace context, access log, metrics, security
 * headers, CORS, body limits, timeouts, health endpoints, error masking and graceful
 * shutdown. Callers mount GraphQL (and any REST route) on `app` before `listen()`.
 */
export class HttpService {
  readonly app: Express;
  readonly server: Server;
  readonly #options: HttpServiceOptions;
  readonly #sockets = new Set<Socket>();
  readonly #routes = new Set(['/healthz', '/ready', '/metrics']);
  #inFlight = 0;
  #closing = false;
  #drained: (() => void) | undefined;

  constructor(options: HttpServiceOptions) {
    this.#options = options;
    const { config } = options;
    const app = express();
    this.app = app;
    app.disable('x-powered-by');
    // Only configured proxies may say who the client is; by default the peer is.
    app.set('trust proxy', config.http.trustedProxies.length > 0 ? [...config.http.trustedProxies] : false);
    app.use((req, res, next) => this.#instrument(req, res, next));
    app.use(
      helmet({
        contentSecurityPolicy: options.sandbox ? false : undefined,
        crossOriginEmbedderPolicy: false,
      }),
    );
    const origins = config.http.cors.origins;
    app.use(
      cors({
        origin: origins.includes('*') ? true : origins,
        credentials: config.http.cors.credentials && !origins.includes('*'),
        exposedHeaders: ['X-Request-ID'],
        maxAge: 600,
      }),
    );
    if (options.compression) {
      // Clients that accept no encoding (gateways, services, most API clients) skip the
      // compression middleware entirely: it wraps write/end of every response it sees.
      // Bodies under 1 KiB stay uncompressed for the rest (compression's threshold).
      const compress = compression({ threshold: 1024 });
      app.use((req, res, next) => (req.headers['accept-encoding'] ? compress(req, res, next) : next()));
    }
    app.use((req, res, next) => this.#timeout(req, res, next));
    app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    app.get('/ready', async (_req, res) => {
      const report = await options.readiness.evaluate();
      res.status(report.ready ? 200 : 503).json(report);
    });
    if (options.metricsCredential) {
      app.use(
        '/metrics',
        requireServiceCredential(options.metricsCredential, { bearer: true, onRefused: options.onCredentialRefused }),
      );
    }
    app.get('/metrics', async (_req, res) => {
      res.type(options.metrics.registry.contentType).send(await options.metrics.exposition());
    });

    this.server = createServer({ requestTimeout: config.http.requestTimeoutMs, keepAliveTimeout: 65_000 }, app);
    this.server.headersTimeout = Math.min(60_000, config.http.requestTimeoutMs);
    this.server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Names a route for the `route` label of the HTTP metric (mounted middleware has none). */
  registerRoute(path: string): void {
    this.#routes.add(path);
  }

  /**
   * JSON body parser with the configured size limit, for GraphQL and REST routes. Stream
   * callbacks run outside the request's async context, so the context is re-entered after
   * parsing.
   */
  jsonBody(): express.RequestHandler[] {
    return [
      express.json({ limit: this.#options.config.http.bodyLimit }),
      (_req, res, next) => {
        const saved = res.locals[SAVED_CONTEXT] as { trace: Context; request: RequestContext } | undefined;
        if (!saved) return next();
        context.with(saved.trace, () => runWithRequest(saved.request, () => next()));
      },
    ];
  }

  /** Final handlers: 404 for unknown paths, typed JSON errors for everything thrown. */
  finish(): void {
    this.app.use((_req: Request, res: Response) => {
      res.status(404).json(errorBody('Not found', ErrorCode.NOT_FOUND));
    });
    this.app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
      void _next;
      const err = error as { status?: number; statusCode?: number; type?: string; message?: string };
      const status = err.status ?? err.statusCode ?? 500;
      if (res.headersSent) {
        res.end();
        return;
      }
      if (status === 413 || err.type === 'entity.too.large') {
        res
          .status(413)
          .json(errorBody(`Request body exceeds ${this.#options.config.http.bodyLimit}`, 'PAYLOAD_TOO_LARGE'));
      } else if (status >= 400 && status < 500) {
        res
          .status(status)
          .json(
            errorBody(
              err.type === 'entity.parse.failed' ? 'Malformed JSON body' : (err.message ?? 'Bad request'),
              'BAD_REQUEST',
            ),
          );
      } else {
        const { errors, logger } = this.#options;
        if (errors) errors.report(error, { kind: 'http', message: 'unhandled error', path: req.path });
        else logger.error({ err: error, path: req.path }, 'unhandled error');
        res.status(500).json(errorBody('Internal server error', ErrorCode.INTERNAL_SERVER_ERROR));
      }
    });
  }

  async listen(port: number): Promise<number> {
    this.#options.metrics.claimProcessMetrics();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.#options.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * Graceful stop: refuse new connections, let in-flight requests finish (up to
   * `http.shutdownTimeoutMs`), then close whatever is left.
   */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#options.metrics.releaseProcessMetrics();
    this.#options.readiness.markStopping();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.#inFlight > 0) {
      const drained = new Promise<void>((resolve) => (this.#drained = resolve));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.#options.logger.warn({ inFlight: this.#inFlight }, 'shutdown timeout: closing remaining connections');
          resolve();
        }, this.#options.config.http.shutdownTimeoutMs);
      });
      await Promise.race([drained, timedOut]);
      clearTimeout(timer);
    }
    this.server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  #instrument(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    const path = req.originalUrl.split('?', 1)[0] ?? '/';
    const requestId = requestIdFrom(req.headers['x-request-id']);
    res.setHeader('X-Request-ID', requestId);
    if (this.#closing) res.setHeader('Connection', 'close');
    this.#inFlight++;
    // This service's spans: in a shared process the caller's context may be another service's.
    const parent = inService(extractContext(req.headers), this.#options.metrics.service);
    const span = tracer().startSpan(`${req.method} ${path}`, { kind: SpanKind.SERVER }, parent);
    span.setAttribute('http.request.method', req.method);
    span.setAttribute('url.path', path);
    span.setAttribute('platform.request_id', requestId);
    const traceContext = trace.setSpan(parent, span);
    const secret = this.#options.clientAddressSecret;
    const ip = (secret && verifyClientAddress(secret, req.headers[CLIENT_ADDRESS_HEADER])) || req.ip;
    const abort = new AbortController();
    const timeoutMs = this.#timeoutMs(req);
    const requestState: RequestContext = {
      requestId,
      ip,
      userAgent: req.get('user-agent'),
      locale: negotiateLocale(req.headers['accept-language']),
      signal: abort.signal,
      deadline: Date.now() + timeoutMs,
      ...(path.startsWith('/internal/') ? { internal: true } : {}),
    };
    res.locals[TIMEOUT] = { ms: timeoutMs, abort };
    // Nobody reads an answer whose connection closed before it was sent: stop the work.
    res.once('close', () => {
      if (!res.writableFinished) abort.abort(new RequestAbortedError('client-gone'));
    });

    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.#inFlight--;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = req.route?.path ? String(req.baseUrl + req.route.path) : this.#routes.has(path) ? path : 'other';
      this.#options.metrics.httpDuration.observe(
        { method: req.method, route, status: String(res.statusCode) },
        seconds,
      );
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      const fields = {
        method: req.method,
        path,
        status: res.statusCode,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        bytes: Number(res.getHeader('content-length') ?? 0) || undefined,
        ip,
      };
      // Log while the span is still current so the line carries its trace id.
      context.with(traceContext, () =>
        runWithRequest(requestState, () => {
          const quiet = path === '/healthz' || path === '/ready' || path === '/metrics';
          this.#options.logger[quiet ? 'debug' : 'info'](fields, 'request completed');
        }),
      );
      span.end();
      if (this.#inFlight === 0) this.#drained?.();
    };
    res.once('finish', finish);
    res.once('close', finish);

    res.locals[SAVED_CONTEXT] = { trace: traceContext, request: requestState };
    context.with(traceContext, () => runWithRequest(requestState, () => next()));
  }

  /** This request's time: `http.requestTimeoutMs`, or less when the caller's deadline is nearer. */
  #timeoutMs(req: Request): number {
    const own = this.#options.config.http.requestTimeoutMs;
    const header = req.headers[DEADLINE_HEADER];
    const remaining = typeof header === 'string' && /^\d{1,9}$/.test(header) ? Number(header) : undefined;
    return remaining === undefined ? own : Math.max(1, Math.min(own, remaining));
  }

  #timeout(req: Request, res: Response, next: NextFunction): void {
    const { ms, abort } = res.locals[TIMEOUT] as { ms: number; abort: AbortController };
    const timer = setTimeout(() => {
      abort.abort(new RequestAbortedError('deadline'));
      if (res.headersSent) return;
      this.#options.logger.warn({ path: req.path, timeoutMs: ms }, 'request timed out');
      res
        .status(503)
        .setHeader('Connection', 'close')
        .json(errorBody(`Request timed out after ${ms} ms`, 'TIMEOUT'));
    }, ms);
    timer.unref();
    const clear = (): void => clearTimeout(timer);
    res.once('finish', clear);
    res.once('close', clear);
    next();
  }
}
