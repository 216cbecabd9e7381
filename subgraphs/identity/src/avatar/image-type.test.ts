import { describe, expect, it } from '@jest/globals';
import { imageTypeOf } from './image-type.js';

const bytes = (...parts: Array<string | number[]>): Buffer =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));

describe('imageTypeOf', () => {
  it.each([
    ['a PNG', bytes([0x89], 'PNG\r\n\x1a\n', [0, 0]), 'image/png'],
    ['a JPEG', bytes([0xff, 0xd8, 0xff, 0xe0]), 'image/jpeg'],
    ['a GIF87a', bytes('GIF87a'), 'image/gif'],
    ['a GIF89a', bytes('GIF89a'), 'image/gif'],
    ['a WebP', bytes('RIFF', [1, 2, 3, 4], 'WEBP'), 'image/webp'],
    ['HTML', bytes('<html><script>'), null],
    ['SVG', bytes('<svg xmlns='), null],
    ['a RIFF that is not WebP', bytes('RIFF', [1, 2, 3, 4], 'WAVE'), null],
    ['a truncated PNG', bytes([0x89], 'PNG'), null],
    ['nothing', Buffer.alloc(0), null],
  ])('reads %s', (_name, input, expected) => {
    expect(imageTypeOf(input)).toBe(expected);
  });
});
