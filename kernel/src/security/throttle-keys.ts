import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * The store key of a login account: `Alice@Example.com ` and `alice@example.com` share one
 * counter, and only a sha256 of it is stored, so a Redis dump holds no email addresses.
 */
export function accountKey(account: string): string {
  return sha256(account.trim().toLowerCase());
}

/** The store key of a client address (hashed too: an IP address is personal data). */
export function ipKey(ip: string): string {
  return sha256(ipBucket(ip));
}

/**
 * The unit one per-IP limit applies to. IPv4-mapped IPv6 is its IPv4 address; other IPv6
 * addresses count by their /64, since one subscriber routinely holds a whole /64 and could
 * otherwise rotate through addresses to escape the limit.
 */
export function ipBucket(ip: string): string {
  let value = ip.trim().toLowerCase();
  const zone = value.indexOf('%');
  if (zone >= 0) value = value.slice(0, zone);
  if (value.startsWith('::ffff:') && isIPv4(value.slice(7))) return value.slice(7);
  if (!isIPv6(value)) return value;
  const [head = '', tail] = value.split('::');
  const headGroups = head ? head.split(':') : [];
  let groups = headGroups;
  if (tail !== undefined) {
    const tailGroups = tail ? tail.split(':') : [];
    // An embedded IPv4 address (only ever last) fills two groups.
    const tailWidth = tailGroups.reduce((width, group) => width + (group.includes('.') ? 2 : 1), 0);
    groups = [...headGroups, ...Array<string>(8 - headGroups.length - tailWidth).fill('0'), ...tailGroups];
  }
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}

function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}
