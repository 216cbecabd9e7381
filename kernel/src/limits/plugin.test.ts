import { describe, expect, it } from '@jest/globals';
import { boundedStringify, bytesOf } from './plugin.js';

describe('boundedStringify', () => {
  const stringify = boundedStringify(1024);

  it('sends an answer within the ceiling as it is', () => {
    const value = { data: { posts: ['a', 'b'] } };
    expect(stringify(value)).toBe(JSON.stringify(value));
  });

  it('replaces a larger one with RESPONSE_TOO_LARGE, counting bytes rather than characters', () => {
    for (const text of ['x'.repeat(2000), 'é'.repeat(600)]) {
      expect(JSON.parse(stringify({ data: { text } }))).toEqual({
        errors: [
          { message: expect.stringContaining('1024 bytes'), extensions: { code: 'RESPONSE_TOO_LARGE', max: 1024 } },
        ],
      });
    }
    // 400 two-byte characters: 800 bytes, within the ceiling.
    expect(stringify({ data: { text: 'é'.repeat(400) } })).toContain('é');
  });
});

describe('bytesOf', () => {
  it.each([
    ['8mb', 8 * 1024 * 1024],
    ['512kb', 512 * 1024],
    ['100b', 100],
    [4096, 4096],
  ])('%s', (size, bytes) => {
    expect(bytesOf(size)).toBe(bytes);
  });
});
