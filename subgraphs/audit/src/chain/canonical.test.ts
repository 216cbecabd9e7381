import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { canonicalJson, canonicalRecord, chainHash, GENESIS_HASH, type ChainRecord } from './canonical.js';

const record: Omit<ChainRecord, 'hash'> = {
  id: '00000000-0000-4000-8000-000000000001',
  seq: 1,
  eventId: '00000000-0000-4000-8000-0000000000aa',
  action: 'blog.post.created',
  actorId: null,
  targetType: 'post',
  targetId: 'p1',
  metadata: { postId: 'p1', authorId: 'a1' },
  requestId: 'req-1',
  traceId: null,
  ip: '127.0.0.1',
  userAgent: 'jest',
  occurredAt: new Date('2026-01-01T00:00:00.000Z'),
  recordedAt: new Date('2026-01-01T00:00:01.250Z'),
};

describe('canonicalJson', () => {
  it.each([
    [
      'sorts keys at every depth',
      { b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } },
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    ],
    ['leaves out undefined members', { a: undefined, b: 'x' }, '{"b":"x"}'],
    [
      'writes strings and numbers as JSON does',
      { s: 'é"\n', n: 0.1, big: 1e21, neg: -0 },
      '{"big":1e+21,"n":0.1,"neg":0,"s":"é\\"\\n"}',
    ],
    ['sorts by UTF-16 code units', { b: 1, B: 2, é: 3, a: 4 }, '{"B":2,"a":4,"b":1,"é":3}'],
    ['writes dates as ISO strings', { at: new Date(Date.UTC(2026, 0, 2)) }, '{"at":"2026-01-02T00:00:00.000Z"}'],
  ])('%s', (_case, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('gives equal text for equal values whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: [1, 2] })).toBe(canonicalJson({ y: [1, 2], x: 1 }));
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/NaN/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
  });
});

describe('chain hash', () => {
  it('is sha256 of the previous hash followed by the canonical record', () => {
    const canonical = canonicalRecord(record);
    expect(canonical).toBe(
      '{"action":"blog.post.created","actorId":null,"eventId":"00000000-0000-4000-8000-0000000000aa",' +
        '"id":"00000000-0000-4000-8000-000000000001","ip":"127.0.0.1","metadata":{"authorId":"a1","postId":"p1"},' +
        '"occurredAt":"2026-01-01T00:00:00.000Z","recordedAt":"2026-01-01T00:00:01.250Z","requestId":"req-1",' +
        '"seq":1,"targetId":"p1","targetType":"post","traceId":null,"userAgent":"jest","v":1}',
    );
    expect(chainHash(GENESIS_HASH, record)).toBe(
      createHash('sha256')
        .update(GENESIS_HASH + canonical)
        .digest('hex'),
    );
  });

  it('changes with any field, and with the previous hash', () => {
    const base = chainHash(GENESIS_HASH, record);
    expect(chainHash('1'.repeat(64), record)).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...record, metadata: { postId: 'p2', authorId: 'a1' } })).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...record, occurredAt: new Date('2026-01-01T00:00:00.001Z') })).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...record, seq: 2 })).not.toBe(base);
    expect(chainHash(GENESIS_HASH, { ...record, metadata: { authorId: 'a1', postId: 'p1' } })).toBe(base);
  });
});
