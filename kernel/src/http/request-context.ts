import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What every layer may know about the request being served. */
export interface RequestContext {
  requestId: string;
  /** Set once the caller is authenticated. */
  userId?: string;
  /** The API key acting for `userId`, when one is. */
  apiKeyId?: string;
  /** The caller's active organization (their token's `org`), when one is. */
  organizationId?: string;
  /** The client's address: the peer, a trusted proxy's `X-Forwarded-For`, or the gateway's signed word. */
  ip?: string;
  userAgent?: string;
  /**
   * The language the caller asked for (`Accept-Language`, negotiated against the supported
   * locales): keyed error messages are answered in it, and mails it causes are written in it
   * unless their recipient saved another.
   */
  locale?: string;
  /**
   * Aborted when nobody will read the answer any more: the client went away, or the deadline
   * passed. Work on the request (resolvers, subgraph calls) stops when it fires.
   */
  signal?: AbortSignal;
  /** When the answer stops being useful (epoch ms); passed on to subgraphs as what remains of it. */
  deadline?: number;
  /** Another service's call to an internal route (`/internal/*`), not a client's request. */
  internal?: boolean;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The request being served on this async path, if any. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

export function runWithRequest<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** Runs `fn` as background work, outside whatever request is being served (its statements, logs). */
export function outsideRequest<T>(fn: () => T): T {
  return storage.exit(fn);
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts a caller's `X-Request-ID` when it is a sane token, otherwise makes one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && REQUEST_ID.test(value) ? value : randomUUID();
}
