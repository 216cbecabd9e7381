import { describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { type PlatformEvent } from '@platform/kernel';
import { createEvent } from '@platform/kernel/testing';
import { mapEvent, sourceEventId, targetOf } from './event-mapping.js';
import { isSecretKey, REDACTED, scrubMetadata } from './scrub.js';

const ACTOR = randomUUID();

describe('targetOf', () => {
  it.each([
    ['blog.post.created', { postId: 'p', authorId: 'a' }, { type: 'post', id: 'p' }],
    ['authz.role.deleted', { roleId: 'r', name: 'x', holders: 1 }, { type: 'role', id: 'r' }],
    ['authz.grant.changed', { roleId: 'r', roleName: 'x', granted: [], revoked: [] }, { type: 'role', id: 'r' }],
    ['authz.assignment.created', { userId: 'u', roleId: 'r', roleName: 'x' }, { type: 'user', id: 'u' }],
    ['identity.user.updated', { userId: 'u', changed: [] }, { type: 'user', id: 'u' }],
    ['identity.session.revoked', { userId: 'u', sessionId: 's', reason: 'logout' }, { type: 'session', id: 's' }],
    ['identity.login.succeeded', { userId: 'u', sessionId: 's' }, { type: 'user', id: 'u' }],
    ['identity.login.failed', { userId: null, reason: 'unknown_email' }, undefined],
    ['identity.refresh.reused', { userId: 'u', sessionId: 's' }, { type: 'session', id: 's' }],
    ['notes.note_item.shared', { noteItemId: 'n', userId: 'u' }, { type: 'note_item', id: 'n' }],
    ['notes.folder.moved', { parentId: 'f2', userId: 'u' }, { type: 'parent', id: 'f2' }],
    ['notes.thing.done', { count: 3 }, undefined],
    [
      'identity.organization.member_added',
      { organizationId: 'o', userId: 'u', role: 'member', invitationId: 'i' },
      { type: 'user', id: 'u' },
    ],
  ])('%s → %j', (topic, payload, expected) => {
    expect(targetOf(topic, payload as Record<string, unknown>)).toEqual(expected);
  });
});

describe('scrubMetadata', () => {
  it('redacts secret-looking keys at any depth, and token-looking values', () => {
    const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const { value, redacted } = scrubMetadata({
      userId: 'u',
      password: 'hunter2',
      nested: { refresh_token: 'r', list: [{ apiKey: 'k' }, 'Bearer abc.def'] },
      note: jwt,
      changed: ['password'],
    });
    expect(value).toEqual({
      userId: 'u',
      password: REDACTED,
      nested: { refresh_token: REDACTED, list: [{ apiKey: REDACTED }, REDACTED] },
      note: REDACTED,
      changed: ['password'],
    });
    expect(JSON.stringify(value)).not.toMatch(/hunter2|abc\.def|eyJ/);
    expect(redacted.sort()).toEqual([
      '$.nested.list[0].apiKey',
      '$.nested.list[1]',
      '$.nested.refresh_token',
      '$.note',
      '$.password',
    ]);
  });

  it.each(['password', 'newPassword', 'TOKEN', 'accessToken', 'x-authorization', 'clientSecret', 'tokenHash'])(
    'treats %s as a secret',
    (key) => expect(isSecretKey(key)).toBe(true),
  );

  it.each(['userId', 'sessionId', 'reason', 'changed', 'email'])('keeps %s', (key) =>
    expect(isSecretKey(key)).toBe(false),
  );

  it('makes text storable and bounds nesting', () => {
    let deep: Record<string, unknown> = { end: true };
    for (let i = 0; i < 40; i++) deep = { deep };
    const { value } = scrubMetadata({ nul: 'a\u0000b', lone: 'x\uD800y', deep });
    expect(value.nul).toBe('a\uFFFDb');
    expect(value.lone).toBe('x\uFFFDy');
    expect(JSON.stringify(value)).toContain('[too deep]');
  });

  it('wraps a payload that is not an object', () => {
    expect(scrubMetadata('text').value).toEqual({ value: 'text' });
    expect(scrubMetadata(undefined).value).toEqual({});
  });
});

describe('mapEvent', () => {
  it('takes action, target, actor and client from the event, and the payload as metadata', () => {
    const event = createEvent(
      'identity',
      'identity.session.revoked',
      { userId: ACTOR, sessionId: 'sess-1', reason: 'logout' },
      {
        actorId: ACTOR.toUpperCase(),
        requestId: 'req-9',
        traceId: 'b'.repeat(32),
        ip: '10.0.0.1',
        userAgent: 'curl/8',
      },
    );
    const { draft, notes } = mapEvent(event);
    expect(notes).toEqual([]);
    expect(draft).toEqual({
      eventId: event.id,
      action: 'identity.session.revoked',
      actorId: ACTOR,
      targetType: 'session',
      targetId: 'sess-1',
      metadata: { userId: ACTOR, sessionId: 'sess-1', reason: 'logout' },
      requestId: 'req-9',
      traceId: 'b'.repeat(32),
      ip: '10.0.0.1',
      userAgent: 'curl/8',
      occurredAt: new Date(event.occurredAt),
    });
  });

  it('names the organization the actor was active in, beside their API key, in the metadata', () => {
    const organizationId = randomUUID();
    const keyId = randomUUID();
    const event = createEvent(
      'blog',
      'blog.post.created',
      { postId: 'p', authorId: ACTOR },
      { actorId: ACTOR, actorKeyId: keyId, organizationId: organizationId.toUpperCase() },
    );
    expect(mapEvent(event).draft.metadata).toEqual({
      postId: 'p',
      authorId: ACTOR,
      actorApiKeyId: keyId,
      actorOrganizationId: organizationId,
    });
    // Without an actor, no organization: nobody acted in it.
    const anonymous = createEvent('blog', 'blog.post.created', { postId: 'p' }, { organizationId });
    expect(mapEvent(anonymous).draft.metadata).toEqual({ postId: 'p' });
  });

  it('stores whatever arrives, noting what it had to change', () => {
    const now = new Date('2026-02-03T04:05:06.007Z');
    const event = {
      id: 'not-a-uuid',
      topic: 'blog.post.created',
      source: 'blog',
      occurredAt: 'yesterday',
      payload: { postId: 'x'.repeat(300), secret: 's' },
      meta: { actorId: 'someone', requestId: 'r'.repeat(500), userAgent: 'a\u0000b' },
    } as unknown as PlatformEvent;
    const { draft, notes } = mapEvent(event, () => now);
    expect(draft.eventId).toBe(sourceEventId(event));
    expect(draft.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(draft.actorId).toBeNull();
    expect(draft.occurredAt).toEqual(now);
    expect(draft.targetId).toHaveLength(128);
    expect(draft.requestId).toHaveLength(128);
    expect(draft.userAgent).toBe('a\uFFFDb');
    expect(draft.metadata.secret).toBe(REDACTED);
    expect(notes).toEqual(
      expect.arrayContaining([
        'redacted $.secret',
        'actorId is not a uuid; dropped',
        'occurredAt is not a valid time; the time of recording is used',
        'targetId cut to 128 characters',
        'requestId cut to 128 characters',
      ]),
    );
  });

  it('derives the same id for the same malformed event id, so redeliveries still deduplicate', () => {
    expect(sourceEventId({ id: 'abc' })).toBe(sourceEventId({ id: 'abc' }));
    expect(sourceEventId({ id: 'abc' })).not.toBe(sourceEventId({ id: 'abd' }));
  });
});
