import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API keys look like `plk_<40 random base62 characters><6 base62 characters of CRC32>`: the
 * prefix lets secret scanners (and people) recognise a leaked key, and the checksum lets them,
 * and the gateway, tell a key from a string that merely looks like one, without any lookup. The
 * random part carries 238 bits, so storing its SHA-256 is enough (no slow hash).
 */
export const API_KEY_PREFIX = 'plk_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 40;
const CHECKSUM_LENGTH = 6;
const SHAPE = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);
/** How much of a key is kept in the clear to tell keys apart in lists: `plk_` and 8 characters. */
const DISPLAY_LENGTH = API_KEY_PREFIX.length + 8;

/** The base62 digits of `value`, left-padded with zeros to `length`. */
function base62(value: number, length: number): string {
  let out = '';
  let rest = value;
  while (rest > 0) {
    out = ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out.padStart(length, '0');
}

function checksum(body: string): string {
  return base62(crc32(body), CHECKSUM_LENGTH);
}

/** A new key: random characters by rejection sampling, so each of the 62 is equally likely. */
export function newApiKey(): string {
  let random = '';
  while (random.length < RANDOM_LENGTH) {
    for (const byte of randomBytes(RANDOM_LENGTH)) {
      // 248 = 4 × 62: bytes above it would favour the first characters.
      if (byte < 248 && random.length < RANDOM_LENGTH) random += ALPHABET[byte % 62];
    }
  }
  const body = `${API_KEY_PREFIX}${random}`;
  return `${body}${checksum(body)}`;
}

/** Whether `value` is shaped like a key and its checksum holds: checked before any lookup. */
export function isWellFormedApiKey(value: string): boolean {
  if (!SHAPE.test(value)) return false;
  const body = value.slice(0, -CHECKSUM_LENGTH);
  return checksum(body) === value.slice(-CHECKSUM_LENGTH);
}

/** Whether `value` claims to be an API key (the prefix), well-formed or not. */
export const looksLikeApiKey = (value: string): boolean => value.startsWith(API_KEY_PREFIX);

/** The part of a key shown in lists (`plk_AbCd1234`): enough to recognise it, useless to use it. */
export const displayPrefix = (key: string): string => key.slice(0, DISPLAY_LENGTH);

/**
 * The token service's internal route (service credential) that trades an API key for a
 * short-lived access token restricted to the key's permissions: POST `{ key, ip? }` →
 * `{ accessToken, expiresAt, keyId, userId }`, 401 `{ error }` for a key it refuses.
 */
export const API_KEY_EXCHANGE_PATH = '/internal/api-keys/exchange';
