/**
 * A key's life, from its row alone, so that every instance reading the same table reaches the
 * same answers: published from `publishedAt`; signs from `activatesAt` until a newer key (by
 * `createdAt`) activates; retired then (or when it was imported, if later: an imported key signed
 * until its instance was upgraded); removed once retired for the retention.
 */
export interface KeyTimes {
  kid: string;
  createdAt: number;
  activatesAt: number;
  publishedAt: number;
}

/** What `platformctl keys list` shows for a key. */
export type KeyState = 'signing' | 'pending' | 'retired' | 'expired' | 'unusable';

/** When the key at `index` of `keys` (newest first) stopped signing, or null while it may still. */
export function retiredAt(keys: readonly KeyTimes[], index: number, now: number): number | null {
  let successor = Number.POSITIVE_INFINITY;
  for (const newer of keys.slice(0, index)) successor = Math.min(successor, newer.activatesAt);
  if (successor > now) return null;
  return Math.max(successor, keys[index]!.publishedAt);
}

/**
 * The key that signs now: the newest active one (`keys` newest first); when none is active yet
 * (only a scheduled key could be read here), the newest, since any key is better than none.
 */
export function signerIndex(keys: readonly KeyTimes[], now: number): number {
  const active = keys.findIndex((key) => key.activatesAt <= now);
  return active >= 0 ? active : keys.length ? 0 : -1;
}

/** Each key's state at `now`; retired keys past `retainMs` are `expired` (due for removal). */
export function keyStates(keys: readonly KeyTimes[], now: number, retainMs: number): KeyState[] {
  const signer = signerIndex(keys, now);
  return keys.map((key, i) => {
    if (i === signer) return 'signing';
    const retired = retiredAt(keys, i, now);
    if (retired !== null) return now >= retired + retainMs ? 'expired' : 'retired';
    return key.activatesAt > now ? 'pending' : 'retired';
  });
}

/** The kids whose retention has passed. Never the newest active key: a newer key must have been active for `retainMs`. */
export function expiredKids(keys: readonly KeyTimes[], now: number, retainMs: number): string[] {
  return keys
    .filter((_key, i) => {
      const retired = retiredAt(keys, i, now);
      return retired !== null && now >= retired + retainMs;
    })
    .map((key) => key.kid);
}
