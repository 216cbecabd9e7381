import { describe, expect, it } from '@jest/globals';
import { accountKey, ipBucket, ipKey } from './throttle-keys.js';

describe('throttle keys', () => {
  it('normalises accounts (case, surrounding spaces) and stores only a sha256', () => {
    const key = accountKey('  Alice@Example.COM ');
    expect(key).toBe(accountKey('alice@example.com'));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(accountKey('bob@example.com')).not.toBe(key);
  });

  it.each([
    ['203.0.113.7', '203.0.113.7'],
    [' 203.0.113.7 ', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:0db8:0000:0002:aaaa::1%eth0', '2001:db8:0:2::/64'],
    ['::1', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['not an ip', 'not an ip'],
  ])('buckets %s as %s', (ip, bucket) => {
    expect(ipBucket(ip)).toBe(bucket);
  });

  it('gives addresses of one IPv6 /64 one key', () => {
    expect(ipKey('2001:db8:1:2::1')).toBe(ipKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(ipKey('2001:db8:1:3::1')).not.toBe(ipKey('2001:db8:1:2::1'));
    expect(ipKey('203.0.113.7')).toMatch(/^[0-9a-f]{64}$/);
  });
});
