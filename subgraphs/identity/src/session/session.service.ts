import {
  AuthenticationError,
  currentRequest,
  ForbiddenError,
  MfaRequiredError,
  requireUuid,
  NotFoundError,
  RateLimitError,
  type Emit,
  type EntityManager,
} from '@platform/kernel';
import type { LoginThrottle, ThrottleVerdict } from '../throttle/login-throttle.js';
import type { PasswordHasher } from '../password/hasher.js';
import { signAccessToken, type SigningKeys } from '../keys/signing-keys.js';
import { hashSecret, newSecret } from '../tokens.js';
import { text } from '../i18n/index.js';
import { User } from '../user/user.entity.js';
import { findUserByEmail, normaliseEmail } from '../user/user.service.js';
import { RefreshToken, Session } from './session.entity.js';
import type { IdentityEvents } from '../events.js';
import { LoginEvents, type Attempt } from './login-events.js';
import type { SecondFactorOutcome } from '../totp/verify.js';

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
}

/** Who is calling, as far as the session record is concerned. */
export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

/** The current GraphQL request's client (address and agent), for the session it opens. */
export function requestClient(): ClientInfo {
  const request = currentRequest();
  return { ip: request?.ip, userAgent: request?.userAgent };
}

export interface AuthResult {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
  session: Session;
}

/** One generic answer for unknown emails and wrong passwords: no account enumeration. */
const BAD_CREDENTIALS = text('login.badCredentials');

/**
 * The second-factor check login makes after a right password (`TotpService`): it consumes the
 * code it accepts, and records a recovery code's use in the login's transaction.
 */
export interface SecondFactorCheck {
  verify(em: EntityManager, userId: string, code: string | null | undefined): Promise<SecondFactorOutcome>;
  recordRecoveryUse(tx: EntityManager, userId: string, outcome: SecondFactorOutcome): Promise<void>;
}

/** Why a session ended; recorded on the row and in the `identity.session.revoked` event. */
export type RevocationReason =
  | 'logout'
  | 'revoked_by_user'
  | 'password_changed'
  | 'password_reset'
  | 'refresh_reuse'
  | 'user_deleted'
  /** `platformctl seed --adopt-existing` took the account over as the administrator. */
  | 'seed_adopted'
  /** A first sign-in with a provider joined the account, whose email nobody had verified. */
  | 'provider_adopted'
  /** An OAuth client's secret was rotated or the client deleted: its client_credentials tokens end. */
  | 'oauth_client_changed'
  /** The user was removed from, or left, the organization the session was active in. */
  | 'organization_removed'
  | 'organization_left';

/**
 * Sessions and tokens: login issues a short-lived access JWT and an opaque refresh token;
 * every refresh replaces the refresh token, and presenting a replaced one again revokes the
 * whole session (someone else has a copy).
 */
export class SessionService {
  readonly #loginEvents: LoginEvents;

  constructor(
    private readonly deps: {
      hasher: PasswordHasher;
      keys: SigningKeys;
      throttle: LoginThrottle;
      tokens: TokenSettings;
      /** Records an event in the outbox of the current transaction (relayed after commit). */
      emit: Emit<IdentityEvents>;
      /** Two-factor sign-in; without it, a password is enough. */
      secondFactor?: SecondFactorCheck;
      /** Whether `userId` is a member of `organizationId` (login and switching into it need it). */
      isMember?: (em: EntityManager, organizationId: string, userId: string) => Promise<boolean>;
    },
  ) {
    this.#loginEvents = new LoginEvents({
      emit: deps.emit,
      refusalReportWindowSec: deps.throttle.refusalReportWindowSec,
    });
  }

  /**
   * Signs in. Every outcome is recorded: a refusal by the throttle (`identity.login.throttled`,
   * aggregated per account and address), a failure (`identity.login.failed`, and
   * `identity.lockout.started` when it locks the account or the address), a success; and the
   * first attempt after a lockout lapsed records `identity.lockout.ended`.
   *
   * For an account with two-factor sign-in, a right password is not enough: without
   * `options.secondFactor` (a TOTP or a recovery code) it fails with MFA_REQUIRED, counting
   * nothing; a wrong code fails like a wrong password (`reason: wrong_second_factor`). Only a
   * right code clears the account's failures, so the password alone cannot reset the lockout
   * between guesses of the code.
   */
  async login(
    em: EntityManager,
    email: string,
    password: string,
    client: ClientInfo,
    options: { secondFactor?: string | null; organizationId?: string | null } = {},
  ): Promise<AuthResult> {
    const account = normaliseEmail(email);
    const { hasher, throttle, emit } = this.deps;
    const verdict = await throttle.attempt(account, client.ip);
    if (verdict.refused) {
      await this.recordRefusal(em, account, verdict, client);
      throw new RateLimitError(verdict.refused.retryAfterSec);
    }

    const user = account ? await findUserByEmail(em, account, { withPassword: true }) : null;
    const valid = user?.passwordHash
      ? await hasher.verify(user.passwordHash, password)
      : await hasher.dummyVerify(password);
    const attempt: Attempt = { userId: user?.id ?? null, ip: client.ip };
    const fail = async (reason: string): Promise<void> => {
      const started = await throttle.recordFailure(account, client.ip);
      await em.transactional(async (tx) => {
        await this.#loginEvents.ended(tx, verdict.ended, attempt);
        await emit(tx, 'identity.login.failed', { userId: user?.id ?? null, reason });
        await this.#loginEvents.started(tx, started, attempt);
      });
    };
    if (!user || !user.passwordHash || !valid) {
      await fail(user ? (user.passwordHash ? 'wrong_password' : 'no_password') : 'unknown_email');
      throw new AuthenticationError(BAD_CREDENTIALS);
    }
    const second = this.deps.secondFactor
      ? await this.deps.secondFactor.verify(em, user.id, options.secondFactor)
      : ({ status: 'not_enrolled' } as const);
    if (second.status === 'missing') {
      if (verdict.ended.length > 0) await em.transactional((tx) => this.#loginEvents.ended(tx, verdict.ended, attempt));
      throw new MfaRequiredError();
    }
    if (second.status === 'invalid') {
      await fail('wrong_second_factor');
      throw new AuthenticationError(text('login.badSecondFactor'));
    }
    await throttle.recordSuccess(account, client.ip);
    // Told only to whoever proved the password: whether the account is in that organization.
    const organizationId = await this.#activeOrganization(em, user.id, options.organizationId);

    return em.transactional(async (tx) => {
      await this.#loginEvents.ended(tx, verdict.ended, attempt);
      await this.deps.secondFactor?.recordRecoveryUse(tx, user.id, second);
      if (hasher.needsRehash(user.passwordHash!)) {
        // Parameters were raised since this hash was made: upgrade it while we know the password.
        await tx.nativeUpdate(User, { id: user.id }, { passwordHash: await hasher.hash(password) });
      }
      return this.#openSession(tx, user, client, undefined, organizationId);
    });
  }

  /**
   * Signs in someone another party vouched for (an external provider, `provider`): no password,
   * but the account's lockout and second factor apply as to `login`. A missing code fails with
   * MFA_REQUIRED counting nothing; a wrong one counts towards the account's lockout.
   */
  async signInVouched(
    em: EntityManager,
    user: User,
    client: ClientInfo,
    options: { provider: string; secondFactor?: string | null },
  ): Promise<AuthResult> {
    const { throttle, emit } = this.deps;
    const account = normaliseEmail(user.email);
    const verdict = await throttle.attempt(account, client.ip);
    if (verdict.refused) {
      await this.recordRefusal(em, account, verdict, client);
      throw new RateLimitError(verdict.refused.retryAfterSec);
    }
    const attempt: Attempt = { userId: user.id, ip: client.ip };
    const second = this.deps.secondFactor
      ? await this.deps.secondFactor.verify(em, user.id, options.secondFactor)
      : ({ status: 'not_enrolled' } as const);
    if (second.status === 'missing') throw new MfaRequiredError();
    if (second.status === 'invalid') {
      const started = await throttle.recordFailure(account, client.ip);
      await em.transactional(async (tx) => {
        await this.#loginEvents.ended(tx, verdict.ended, attempt);
        await emit(tx, 'identity.login.failed', { userId: user.id, reason: 'wrong_second_factor' });
        await this.#loginEvents.started(tx, started, attempt);
      });
      throw new AuthenticationError(text('login.badSecondFactor'));
    }
    await throttle.recordSuccess(account, client.ip);
    return em.transactional(async (tx) => {
      await this.#loginEvents.ended(tx, verdict.ended, attempt);
      await this.deps.secondFactor?.recordRecoveryUse(tx, user.id, second);
      return this.#openSession(tx, user, client, options.provider);
    });
  }

  /** `organizationId` (lower-cased) when `userId` is a member; FORBIDDEN when not; null when none is asked for. */
  async #activeOrganization(em: EntityManager, userId: string, organizationId?: string | null): Promise<string | null> {
    if (!organizationId) return null;
    const id = requireUuid(organizationId, 'organizationId');
    if (!(await this.deps.isMember?.(em, id, userId))) {
      throw new ForbiddenError(text('organization.notMember'));
    }
    return id;
  }

  /** A new session for `user`, its tokens and `identity.login.succeeded`; inside the caller's transaction. */
  async #openSession(
    tx: EntityManager,
    user: User,
    client: ClientInfo,
    provider?: string,
    organizationId: string | null = null,
  ): Promise<AuthResult> {
    const session = tx.create(Session, {
      userId: user.id,
      organizationId,
      expiresAt: new Date(Date.now() + this.deps.tokens.refreshTokenTtlSec * 1000),
      lastUsedAt: new Date(),
      ip: client.ip?.slice(0, 64) ?? null,
      userAgent: client.userAgent?.slice(0, 512) ?? null,
    });
    await tx.flush(); // before its refresh token: the rows are related only by the foreign key
    const result = await this.issue(tx, user, session);
    await this.deps.emit(
      tx,
      'identity.login.succeeded',
      {
        userId: user.id,
        sessionId: session.id,
        ...(provider ? { provider } : {}),
        ...(organizationId ? { organizationId } : {}),
      },
      { actorId: user.id },
    );
    return result;
  }

  /**
   * Records what a refused attempt has to report, if anything: a lockout it found lapsed (of the
   * other limit), and the refusal itself when it is the one of its window. The account is looked
   * up only then, so most refusals of a flood cost no database access at all.
   */
  private async recordRefusal(
    em: EntityManager,
    account: string,
    { ended, refused }: ThrottleVerdict,
    client: ClientInfo,
  ): Promise<void> {
    if (ended.length === 0 && !refused?.report) return;
    const user = account ? await findUserByEmail(em, account) : null;
    const attempt: Attempt = { userId: user?.id ?? null, ip: client.ip };
    await em.transactional(async (tx) => {
      await this.#loginEvents.ended(tx, ended, attempt);
      if (refused) await this.#loginEvents.refused(tx, refused, attempt);
    });
  }

  async refresh(em: EntityManager, refreshToken: string): Promise<AuthResult> {
    const tokenHash = hashSecret(refreshToken);
    const outcome = await em.transactional(async (tx) => {
      const token = await tx.findOne(RefreshToken, { tokenHash });
      if (!token) return { error: 'unknown' as const };
      const session = await tx.findOne(Session, { id: token.sessionId });
      if (!session || session.revokedAt || session.expiresAt <= new Date() || token.expiresAt <= new Date()) {
        return { error: 'ended' as const };
      }
      // Mark used only if still unused: of two concurrent refreshes with one token, one wins.
      const claimed = await tx.nativeUpdate(RefreshToken, { id: token.id, usedAt: null }, { usedAt: new Date() });
      if (claimed === 0) {
        await this.revokeIn(tx, session, 'refresh_reuse');
        await this.deps.emit(
          tx,
          'identity.refresh.reused',
          { userId: session.userId, sessionId: session.id },
          { actorId: session.userId },
        );
        return { error: 'reused' as const };
      }
      const user = await tx.findOne(User, { id: session.userId, deletedAt: null });
      if (!user) return { error: 'ended' as const };
      session.lastUsedAt = new Date();
      return { result: await this.issue(tx, user, session) };
    });
    if ('result' in outcome && outcome.result) return outcome.result;
    throw new AuthenticationError(text('login.badRefreshToken'));
  }

  /**
   * Makes `organizationId` (null: none) the session's active organization and answers new tokens
   * naming it. The session's refresh token is replaced, as by a refresh. FORBIDDEN for an
   * organization the user is not a member of; UNAUTHENTICATED for a session that ended.
   */
  async switchOrganization(
    em: EntityManager,
    caller: { userId: string; sessionId: string },
    organizationId: string | null,
  ): Promise<AuthResult> {
    const target = await this.#activeOrganization(em, caller.userId, organizationId);
    return em.transactional(async (tx) => {
      const session = await tx.findOne(Session, { id: caller.sessionId, userId: caller.userId });
      if (!session || session.revokedAt || session.expiresAt <= new Date()) throw new AuthenticationError();
      const user = await tx.findOne(User, { id: caller.userId, deletedAt: null });
      if (!user) throw new AuthenticationError();
      const from = session.organizationId ?? null;
      session.organizationId = target;
      session.lastUsedAt = new Date();
      // The refresh tokens handed out so far are spent: the session goes on with the new one.
      await tx.nativeUpdate(RefreshToken, { sessionId: session.id, usedAt: null }, { usedAt: new Date() });
      const result = await this.issue(tx, user, session);
      await this.deps.emit(tx, 'identity.organization.switched', {
        userId: user.id,
        sessionId: session.id,
        from,
        to: target,
      });
      return result;
    });
  }

  /** Revokes `userId`'s live sessions active in `organizationId`, inside the caller's transaction. */
  async revokeInOrganization(
    tx: EntityManager,
    userId: string,
    organizationId: string,
    reason: RevocationReason,
  ): Promise<string[]> {
    const sessions = await tx.find(Session, { userId, organizationId, revokedAt: null });
    for (const session of sessions) await this.revokeIn(tx, session, reason);
    return sessions.map((session) => session.id);
  }

  /** Ends the session a refresh token belongs to, or the caller's current one. */
  async logout(em: EntityManager, options: { refreshToken?: string | null; userId?: string; sessionId?: string }) {
    let sessionId = options.sessionId;
    if (options.refreshToken) {
      const token = await em.findOne(RefreshToken, { tokenHash: hashSecret(options.refreshToken) });
      if (!token) throw new AuthenticationError(text('login.badRefreshToken'));
      sessionId = token.sessionId;
    }
    if (!sessionId) throw new AuthenticationError();
    const session = await em.findOne(Session, { id: sessionId });
    if (!session) throw new AuthenticationError(text('login.badRefreshToken'));
    if (options.userId && session.userId !== options.userId) throw new AuthenticationError();
    await this.revoke(em, [session], 'logout');
    return true;
  }

  /** The caller's own live sessions, newest first. */
  async list(em: EntityManager, userId: string, currentSessionId?: string): Promise<Session[]> {
    const sessions = await em.find(
      Session,
      { userId, revokedAt: null, expiresAt: { $gt: new Date() } },
      { orderBy: { createdAt: 'desc', id: 'desc' } },
    );
    for (const session of sessions) session.current = session.id === currentSessionId;
    return sessions;
  }

  async revokeOwn(em: EntityManager, userId: string, sessionId: string): Promise<boolean> {
    const session = await em.findOne(Session, { id: sessionId, userId });
    if (!session) throw new NotFoundError('Session', sessionId);
    if (!session.revokedAt) await this.revoke(em, [session], 'revoked_by_user');
    return true;
  }

  /**
   * Revokes sessions in one transaction; each publishes `identity.session.revoked`, which every
   * service's token verifier hears within a second.
   */
  async revoke(em: EntityManager, sessions: Session[], reason: RevocationReason): Promise<void> {
    const live = sessions.filter((session) => !session.revokedAt);
    if (live.length === 0) return;
    await em.transactional(async (tx) => {
      for (const session of live) await this.revokeIn(tx, tx.merge(session), reason);
    });
  }

  /** Revokes every live session of a user (optionally but one) inside the caller's transaction. */
  async revokeAllIn(
    tx: EntityManager,
    userId: string,
    reason: RevocationReason,
    exceptSessionId?: string,
  ): Promise<string[]> {
    const sessions = await tx.find(Session, {
      userId,
      revokedAt: null,
      ...(exceptSessionId ? { id: { $ne: exceptSessionId } } : {}),
    });
    for (const session of sessions) await this.revokeIn(tx, session, reason);
    return sessions.map((session) => session.id);
  }

  private async revokeIn(tx: EntityManager, session: Session, reason: RevocationReason): Promise<void> {
    session.revokedAt = new Date();
    session.revokedReason = reason;
    await tx.flush();
    await this.deps.emit(tx, 'identity.session.revoked', { userId: session.userId, sessionId: session.id, reason });
  }

  /** A new refresh token in `session` and an access token naming it; inside the caller's transaction. */
  private async issue(tx: EntityManager, user: User, session: Session): Promise<AuthResult> {
    const { tokens, keys } = this.deps;
    const refreshToken = newSecret();
    tx.create(RefreshToken, {
      sessionId: session.id,
      tokenHash: hashSecret(refreshToken),
      expiresAt: session.expiresAt,
    });
    await tx.flush();
    const access = await signAccessToken(
      keys,
      { sub: user.id, sid: session.id, org: session.organizationId ?? null },
      { issuer: tokens.issuer, audience: tokens.audience, ttlSec: tokens.accessTokenTtlSec },
    );
    return { accessToken: access.token, refreshToken, expiresIn: access.expiresIn, user, session };
  }
}
