import { z } from 'zod';

export interface RevocationListOptions {
  /**
   * How long a revocation is kept when the caller gives no `untilMs`: the access-token
   * lifetime plus clock tolerance and bus delay. Default 16 min (15-min tokens + 1 min).
   */
  holdMs?: number;
  /** Clock in epoch ms; tests pass a fake one. */
  now?: () => number;
  /** Least time between two sweeps of expired entries (run on writes). Default 10 s. */
  pruneIntervalMs?: number;
}

const snapshotSchema = z.object({
  sessions: z.array(z.object({ id: z.string().min(1), untilMs: z.number() })),
  users: z.array(z.object({ id: z.string().min(1), revokedAtMs: z.number(), untilMs: z.number() })),
});

/** Every live revocation, as identity hands it to a starting service (JSON-safe). */
export type RevocationSnapshot = z.infer<typeof snapshotSchema>;

/** The claims a revocation check needs. */
export interface RevocationCheck {
  sub: string;
  sid?: string;
  /** Issued-at, epoch seconds. */
  iat: number;
}

interface UserRevocation {
  revokedAtMs: number;
  untilMs: number;
}

/**
 * Sessions and users revoked while their access tokens are still unexpired. Access tokens are
 * verified offline, so a logout, a password change or a deleted user only takes effect before
 * expiry if every service knows about it; identity broadcasts revocations and each service
 * keeps them here. Entries carry their own expiry (no token outlives it) and are pruned, so
 * memory stays bounded by the revocations of one token lifetime.
 */
export class RevocationList {
  readonly #sessions = new Map<string, number>();
  readonly #users = new Map<string, UserRevocation>();
  readonly #now: () => number;
  readonly #holdMs: number;
  readonly #pruneIntervalMs: number;
  #lastPrune: number;

  constructor(options: RevocationListOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#holdMs = options.holdMs ?? 16 * 60_000;
    this.#pruneIntervalMs = options.pruneIntervalMs ?? 10_000;
    this.#lastPrune = this.#now();
  }

  /** Number of entries held (expired ones included until the next sweep). */
  get size(): number {
    return this.#sessions.size + this.#users.size;
  }

  /** Refuses every token of one session (logout, refresh-token reuse) until `untilMs`. */
  revokeSession(sessionId: string, untilMs?: number): void {
    const now = this.#now();
    const until = untilMs ?? now + this.#holdMs;
    if (until > now) {
      const id = sessionId.toLowerCase();
      this.#sessions.set(id, Math.max(until, this.#sessions.get(id) ?? 0));
    }
    this.#maybePrune(now);
  }

  /**
   * Refuses the tokens of a user issued up to `revokedAtMs` (a deleted user, "log out
   * everywhere", a password change), until `untilMs`. Tokens issued later pass, so logging in
   * again works. `iat` has whole seconds, so a token issued in the same second as the
   * revocation counts as older. Pass identity's `revokedAtMs` when relaying a broadcast, so
   * the cut-off does not drift with the bus delay.
   */
  revokeUser(userId: string, untilMs?: number, revokedAtMs?: number): void {
    const now = this.#now();
    const until = untilMs ?? now + this.#holdMs;
    if (until > now) {
      const id = userId.toLowerCase();
      const previous = this.#users.get(id);
      this.#users.set(id, {
        revokedAtMs: Math.max(revokedAtMs ?? now, previous?.revokedAtMs ?? 0),
        untilMs: Math.max(until, previous?.untilMs ?? 0),
      });
    }
    this.#maybePrune(now);
  }

  /** True when the token's session, or its user as of its issue time, is revoked. */
  isRevoked(token: RevocationCheck): boolean {
    const now = this.#now();
    if (token.sid !== undefined) {
      const sid = token.sid.toLowerCase();
      const until = this.#sessions.get(sid);
      if (until !== undefined) {
        if (until > now) return true;
        this.#sessions.delete(sid);
      }
    }
    const sub = token.sub.toLowerCase();
    const user = this.#users.get(sub);
    if (user !== undefined) {
      if (user.untilMs <= now) this.#users.delete(sub);
      else if (token.iat <= Math.floor(user.revokedAtMs / 1000)) return true;
    }
    return false;
  }

  /** Drops expired entries now; returns how many. */
  prune(): number {
    const now = this.#now();
    this.#lastPrune = now;
    let removed = 0;
    for (const [id, until] of this.#sessions) {
      if (until <= now && this.#sessions.delete(id)) removed++;
    }
    for (const [id, user] of this.#users) {
      if (user.untilMs <= now && this.#users.delete(id)) removed++;
    }
    return removed;
  }

  /** The live entries, for identity to serve to services that start after the broadcasts. */
  snapshot(): RevocationSnapshot {
    this.prune();
    return {
      sessions: [...this.#sessions].map(([id, untilMs]) => ({ id, untilMs })),
      users: [...this.#users].map(([id, user]) => ({ id, ...user })),
    };
  }

  /**
   * Merges a snapshot (validated; a malformed one throws) into this list; expired entries are
   * skipped. Returns what it added: sessions not known before, and users revoked later than known.
   */
  load(snapshot: RevocationSnapshot): { sessions: string[]; users: Array<{ id: string; revokedAtMs: number }> } {
    const { sessions, users } = snapshotSchema.parse(snapshot);
    const now = this.#now();
    const added: ReturnType<RevocationList['load']> = { sessions: [], users: [] };
    for (const session of sessions) {
      const id = session.id.toLowerCase();
      if (session.untilMs > now && !this.#sessions.has(id)) added.sessions.push(id);
      this.revokeSession(session.id, session.untilMs);
    }
    for (const user of users) {
      const id = user.id.toLowerCase();
      const known = this.#users.get(id);
      if (user.untilMs > now && (!known || known.revokedAtMs < user.revokedAtMs)) {
        added.users.push({ id, revokedAtMs: user.revokedAtMs });
      }
      this.revokeUser(user.id, user.untilMs, user.revokedAtMs);
    }
    return added;
  }

  #maybePrune(now: number): void {
    if (now - this.#lastPrune >= this.#pruneIntervalMs) this.prune();
  }
}
