import { type Emit, type EntityManager } from '@platform/kernel';
import { ipBucket } from '@platform/kernel/contracts';
import type { LockoutEnd, LockoutStart, ThrottleVerdict } from '../throttle/login-throttle.js';
import type { IdentityEvents, LockoutSubject } from '../events.js';

/** Whose login attempt it was: the account's user (null when no account has the address) and the client address. */
export interface Attempt {
  userId: string | null;
  ip?: string;
}

/**
 * The throttle's decisions as identity's security events (docs/security.md, "Security events"):
 * lockouts started and ended, and refused attempts (at most one event per account and address
 * per report window, as the throttle decides). Inside the caller's transaction.
 */
export class LoginEvents {
  readonly #emit: Emit<IdentityEvents>;
  readonly #windowSec: number;

  constructor(deps: { emit: Emit<IdentityEvents>; refusalReportWindowSec: number }) {
    this.#emit = deps.emit;
    this.#windowSec = deps.refusalReportWindowSec;
  }

  async started(tx: EntityManager, lockouts: readonly LockoutStart[], attempt: Attempt): Promise<void> {
    for (const { scope, durationSec, strike, until } of lockouts) {
      await this.#emit(tx, 'identity.lockout.started', {
        ...subject(scope, attempt),
        durationSec,
        strike,
        until: until.toISOString(),
      });
    }
  }

  async ended(tx: EntityManager, lockouts: readonly LockoutEnd[], attempt: Attempt): Promise<void> {
    for (const { scope, endedAt } of lockouts) {
      await this.#emit(tx, 'identity.lockout.ended', { ...subject(scope, attempt), endedAt: endedAt.toISOString() });
    }
  }

  /** The refused attempt, when the throttle says it is the one of its window to report. */
  async refused(tx: EntityManager, refused: NonNullable<ThrottleVerdict['refused']>, attempt: Attempt): Promise<void> {
    if (!refused.report) return;
    await this.#emit(tx, 'identity.login.throttled', {
      userId: attempt.userId,
      scopes: refused.scopes,
      retryAfterSec: refused.retryAfterSec,
      attempts: refused.report.attempts,
      windowSec: this.#windowSec,
    });
  }
}

/** An account lockout names the account's user; an address lockout the address bucket it counts. */
function subject(scope: LockoutStart['scope'], attempt: Attempt): LockoutSubject {
  return scope === 'account'
    ? { scope, userId: attempt.userId, address: null }
    : { scope, userId: null, address: attempt.ip ? ipBucket(attempt.ip) : null };
}
