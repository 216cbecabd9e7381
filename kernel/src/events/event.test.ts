import { describe, expect, it } from '@jest/globals';
import { runWithRequest } from '../http/request-context.js';
import { activeTraceId, startTracing, withSpan } from '../tracing/tracing.js';
import { retryDelay } from './bus.js';
import { assertTopic, createEvent, topicMatcher, topicMatches } from './event.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('topics', () => {
  it.each(['identity.user.created', 'blog.post.published', 'a.b.c.d', 'audit_log.entry_v2.added', 'x1.y2.z3'])(
    'accepts %s',
    (topic) => expect(() => assertTopic(topic)).not.toThrow(),
  );

  it.each([
    'identity.user',
    'identity',
    '',
    'Identity.user.created',
    'identity.user.created.',
    'identity..created',
    '1identity.user.created',
    'identity.user-profile.created',
    'identity.user.*',
    ' identity.user.created',
  ])('rejects %j', (topic) => expect(() => assertTopic(topic)).toThrow('Invalid event topic'));
});

describe('patterns', () => {
  it.each([
    ['identity.user.created', 'identity.user.created', true],
    ['identity.user.created', 'identity.user.updated', false],
    ['identity.*', 'identity.user.created', true],
    ['identity.*', 'identity.role.granted', true],
    ['identity.*', 'identityx.user.created', false],
    ['identity.*', 'blog.post.created', false],
    ['identity.user.*', 'identity.user.created', true],
    ['identity.user.*', 'identity.user.email.changed', true],
    ['identity.user.*', 'identity.users.created', false],
    ['identity.user.*', 'identity.role.granted', false],
    ['*', 'identity.user.created', true],
    ['*', 'blog.post.created', true],
  ])('%s matches %s: %s', (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });

  it.each(['identity', 'identity.user', '*.user.created', 'identity.*.created', 'identity.**', '', 'Identity.*', '.*'])(
    'rejects the pattern %j',
    (pattern) => expect(() => topicMatcher(pattern)).toThrow('Invalid event pattern'),
  );
});

describe('createEvent', () => {
  it('fills id, time, source and topic, and leaves meta empty outside a request', () => {
    const before = Date.now();
    const event = createEvent('identity', 'identity.user.created', { userId: 'u1' });
    expect(event).toMatchObject({ topic: 'identity.user.created', source: 'identity', payload: { userId: 'u1' } });
    expect(event.id).toMatch(UUID_V4);
    expect(Date.parse(event.occurredAt)).toBeGreaterThanOrEqual(before);
    expect(event.occurredAt).toBe(new Date(event.occurredAt).toISOString());
    expect(event.meta).toEqual({});
    expect(createEvent('identity', 'identity.user.created', {}).id).not.toBe(event.id);
  });

  it('takes request id, actor and client from the request being served; explicit meta wins', () => {
    const request = { requestId: 'req-1', userId: 'user-1', ip: '10.0.0.1', userAgent: 'jest' };
    const inferred = runWithRequest(request, () => createEvent('blog', 'blog.post.created', {}));
    expect(inferred.meta).toEqual({ requestId: 'req-1', actorId: 'user-1', ip: '10.0.0.1', userAgent: 'jest' });

    const explicit = runWithRequest(request, () =>
      createEvent('blog', 'blog.post.created', {}, { actorId: 'system', requestId: undefined }),
    );
    expect(explicit.meta).toEqual({ actorId: 'system', ip: '10.0.0.1', userAgent: 'jest' });
  });

  it('takes the trace id from the active span', async () => {
    const stop = startTracing({ tracing: { otlpEndpoint: null, sampleRatio: 1 } }, 'events-test');
    try {
      const { event, traceId } = await withSpan('publish', {}, async () => ({
        event: createEvent('blog', 'blog.post.created', {}),
        traceId: activeTraceId(),
      }));
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(event.meta.traceId).toBe(traceId);
    } finally {
      await stop();
    }
  });

  it('rejects a bad topic or source', () => {
    expect(() => createEvent('blog', 'blog.created', {})).toThrow('Invalid event topic "blog.created"');
    expect(() => createEvent('', 'blog.post.created', {})).toThrow('Invalid event source');
  });

  it.each([
    [{ password: 'hunter2' }, 'looks like a secret'],
    [{ user: { refreshToken: 'abc' } }, 'payload.user.refreshToken looks like a secret'],
    [{ at: new Date() }, 'payload.at is a Date'],
    [{ n: Number.NaN }, 'not a finite number'],
    [{ big: 1n }, 'bigint'],
    [{ list: [1, () => 2] }, 'payload.list[1] is a function'],
  ])('rejects a payload that is not plain, secret-free JSON: %p', (payload, message) => {
    expect(() => createEvent('identity', 'identity.user.created', payload)).toThrow(message);
  });
});

describe('retryDelay', () => {
  it('grows exponentially from the base, is capped, and is jittered but never below half', () => {
    const retry = { baseDelayMs: 100, maxDelayMs: 1000 };
    for (let attempt = 1; attempt <= 10; attempt++) {
      const nominal = Math.min(1000, 100 * 2 ** (attempt - 1));
      for (let i = 0; i < 20; i++) {
        const delay = retryDelay(attempt, retry);
        expect(delay).toBeGreaterThanOrEqual(nominal / 2);
        expect(delay).toBeLessThanOrEqual(nominal);
      }
    }
  });
});
