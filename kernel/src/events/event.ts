import { randomUUID } from 'node:crypto';
import { currentRequest } from '../http/request-context.js';
import { activeTraceId } from '../tracing/tracing.js';

/** Who and what caused an event, so a consumer's logs and traces join the producer's. */
export interface EventMeta {
  requestId?: string;
  traceId?: string;
  actorId?: string;
  /** The API key `actorId` acted through, when one did. */
  actorKeyId?: string;
  /** The organization `actorId` acted in (their active one), when one was. */
  organizationId?: string;
  ip?: string;
  userAgent?: string;
}

/** A fact one module tells the others, after it happened. */
export interface PlatformEvent<P = Record<string, unknown>> {
  /** uuid v4: the idempotency key consumers deduplicate on. */
  id: string;
  /** `module.resource.verb`, e.g. `identity.user.created`. */
  topic: string;
  /** The publishing module's name. */
  source: string;
  /** ISO-8601. */
  occurredAt: string;
  /** JSON only; never passwords or tokens. */
  payload: P;
  meta: EventMeta;
}

const SEGMENT = /^[a-z][a-z0-9_]*$/;
/** Payload keys that must never travel in an event (the logger redacts the same names). */
const SECRET_KEYS = new Set([
  'password',
  'newpassword',
  'currentpassword',
  'token',
  'accesstoken',
  'refreshtoken',
  'secret',
  'authorization',
]);

function isTopic(topic: string): boolean {
  const segments = topic.split('.');
  return segments.length >= 3 && segments.every((segment) => SEGMENT.test(segment));
}

/** Rejects a malformed topic early, at the publisher, where the mistake is. */
export function assertTopic(topic: string): void {
  if (typeof topic !== 'string' || !isTopic(topic)) {
    throw new Error(
      `Invalid event topic ${JSON.stringify(topic)}: expected module.resource.verb, ` +
        'at least three dot-separated lower-case segments matching [a-z][a-z0-9_]*',
    );
  }
}

/**
 * Compiles a subscription pattern: an exact topic (`identity.user.created`), a prefix
 * wildcard (`identity.*`, `identity.user.*`) or `*` for everything. Invalid patterns throw,
 * so a typo fails at subscribe time instead of silently matching nothing.
 */
export function topicMatcher(pattern: string): (topic: string) => boolean {
  if (pattern === '*') return () => true;
  if (typeof pattern === 'string' && pattern.endsWith('.*')) {
    const prefix = pattern.slice(0, -2);
    if (prefix.split('.').every((segment) => SEGMENT.test(segment))) {
      const start = `${prefix}.`;
      return (topic) => topic.startsWith(start);
    }
  } else if (typeof pattern === 'string' && isTopic(pattern)) {
    return (topic) => topic === pattern;
  }
  throw new Error(
    `Invalid event pattern ${JSON.stringify(pattern)}: expected a topic (a.b.c), a prefix wildcard (a.* or a.b.*) or *`,
  );
}

/** Whether `topic` matches a subscription `pattern` (see {@link topicMatcher}). */
export function topicMatches(pattern: string, topic: string): boolean {
  return topicMatcher(pattern)(topic);
}

function assertJson(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`Event payload ${path} is not a finite number`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => assertJson(item, `${path}[${index}]`));
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new Error(`Event payload ${path} is a ${proto?.constructor?.name ?? 'non-plain object'}, not plain JSON`);
    }
    for (const [key, item] of Object.entries(value)) {
      if (SECRET_KEYS.has(key.toLowerCase())) throw new Error(`Event payload ${path}.${key} looks like a secret`);
      assertJson(item, `${path}.${key}`);
    }
    return;
  }
  throw new Error(`Event payload ${path} is a ${typeof value}, not JSON`);
}

/**
 * Makes an event with a fresh id and timestamp. Request id, actor, client and trace id come
 * from the request being served, so a consumer can correlate without the caller passing them;
 * explicit `meta` wins. The payload must be plain JSON (it crosses process boundaries and is
 * stored) and must not carry secrets; both are checked here.
 */
export function createEvent<P>(
  source: string,
  topic: string,
  payload: P,
  meta: Partial<EventMeta> = {},
): PlatformEvent<P> {
  assertTopic(topic);
  if (typeof source !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(source)) {
    throw new Error(`Invalid event source ${JSON.stringify(source)}: expected a module name`);
  }
  assertJson(payload, 'payload');
  const request = currentRequest();
  const inferred: EventMeta = {
    requestId: request?.requestId,
    traceId: activeTraceId(),
    actorId: request?.userId,
    actorKeyId: request?.apiKeyId,
    organizationId: request?.organizationId,
    ip: request?.ip,
    userAgent: request?.userAgent,
  };
  const merged: EventMeta = {};
  for (const key of ['requestId', 'traceId', 'actorId', 'actorKeyId', 'organizationId', 'ip', 'userAgent'] as const) {
    const value = key in meta ? meta[key] : inferred[key];
    if (value !== undefined) merged[key] = value;
  }
  return { id: randomUUID(), topic, source, occurredAt: new Date().toISOString(), payload, meta: merged };
}

/**
 * What caused `event`, for the events its handling records: the same request, trace and actor,
 * so a consumer's follow-up (a role given on registration, posts deleted with their author)
 * is traced back to the action that started it.
 */
export function causedBy({ meta }: PlatformEvent): Partial<EventMeta> {
  return {
    requestId: meta.requestId,
    traceId: meta.traceId,
    actorId: meta.actorId,
    actorKeyId: meta.actorKeyId,
    organizationId: meta.organizationId,
  };
}
