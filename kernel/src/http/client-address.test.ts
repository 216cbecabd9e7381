import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { requestAddress, signClientAddress, verifyClientAddress } from './client-address.js';

const SECRET = 'a deployment secret of more than 32 characters';

describe('signed client address', () => {
  const now = 1_800_000_000_000;

  it('vouches for the address it was signed for', () => {
    for (const address of ['203.0.113.7', '2001:db8::1', '::ffff:198.51.100.2']) {
      expect(verifyClientAddress(SECRET, signClientAddress(SECRET, address, now), now + 1000)).toBe(address);
    }
  });

  it.each([
    ['another secret', signClientAddress('another secret, also long enough to be used', '203.0.113.7', now)],
    ['a changed address', signClientAddress(SECRET, '203.0.113.7', now).replace('203.0.113.7', '203.0.113.8')],
    ['a changed time', signClientAddress(SECRET, '203.0.113.7', now).replace(String(now), String(now + 1))],
    ['an old signature', signClientAddress(SECRET, '203.0.113.7', now - 61_000)],
    ['one from the future', signClientAddress(SECRET, '203.0.113.7', now + 61_000)],
    ['not an address', signClientAddress(SECRET, 'localhost', now)],
    ['a plain address', '203.0.113.7'],
    ['garbage', ';;;'],
    ['a very long value', 'x'.repeat(10_000)],
    ['not a string', ['203.0.113.7']],
  ])('refuses %s', (_name, header) => {
    expect(verifyClientAddress(SECRET, header, now)).toBeUndefined();
  });
});

describe('requestAddress', () => {
  const upgrade = (peer: string, forwarded?: string): IncomingMessage =>
    ({
      socket: { remoteAddress: peer },
      headers: forwarded ? { 'x-forwarded-for': forwarded } : {},
    }) as unknown as IncomingMessage;

  it('is the peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(requestAddress(upgrade('127.0.0.1', '203.0.113.7'), [])).toBe('127.0.0.1');
  });

  it('reads X-Forwarded-For from a trusted proxy only, up to the first untrusted hop', () => {
    const trusted = ['10.0.0.0/8'];
    expect(requestAddress(upgrade('10.1.2.3', '198.51.100.9, 203.0.113.7'), trusted)).toBe('203.0.113.7');
    expect(requestAddress(upgrade('10.1.2.3', '198.51.100.9, 10.9.9.9'), trusted)).toBe('198.51.100.9');
    expect(requestAddress(upgrade('192.0.2.1', '203.0.113.7'), trusted)).toBe('192.0.2.1');
  });
});
