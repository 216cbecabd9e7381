import { generateURI } from 'otplib';
import { ConflictError, InputError, NotFoundError, type Emit, type EntityManager } from '@platform/kernel';
import type { IdentityEvents } from '../events.js';
import { LoginEvents } from '../session/login-events.js';
import type { LoginThrottle } from '../throttle/login-throttle.js';
import { normaliseEmail } from '../user/user.service.js';
import { hashRecoveryCode, newRecoveryCodes, TOTP_PERIOD_SEC } from './codes.js';
import { newTotpSecret, type TotpSecrets } from './secret.js';
import { RecoveryCode, TotpCredential } from './totp.entity.js';
import { secondFactorEnabled, useTotp, verifySecondFactor, type SecondFactorOutcome } from './verify.js';

/** The signed-in user a TOTP mutation is about. */
export interface TotpUser {
  id: string;
  email: string;
}

/** Where the request came from: wrong codes count against the address too. */
export interface TotpClient {
  ip?: string;
}

const WRONG_CODE = 'is wrong or was already used';

/**
 * Two-factor sign-in with an authenticator app (RFC 6238): enrolment (pending until a first code
 * confirms it), recovery codes, disabling, and the check `login` makes. Wrong codes count towards
 * the same lockout as wrong passwords, whoever sends them.
 */
export class TotpService {
  readonly #loginEvents: LoginEvents;

  constructor(
    private readonly deps: {
      secrets: TotpSecrets;
      throttle: LoginThrottle;
      emit: Emit<IdentityEvents>;
      /** The issuer authenticator apps show beside the account. */
      productName: string;
    },
  ) {
    this.#loginEvents = new LoginEvents({
      emit: deps.emit,
      refusalReportWindowSec: deps.throttle.refusalReportWindowSec,
    });
  }

  /** Login's check (`SecondFactorCheck`): see {@link verifySecondFactor}. */
  verify(em: EntityManager, userId: string, code: string | null | undefined): Promise<SecondFactorOutcome> {
    return verifySecondFactor(em, this.deps.secrets, userId, code);
  }

  /** Whether the user signs in with a second factor. */
  enabled(em: EntityManager, userId: string): Promise<boolean> {
    return secondFactorEnabled(em, userId);
  }

  /**
   * Starts (or restarts) enrolment: a new secret, stored encrypted and pending until
   * {@link confirm}; login does not ask for codes yet. Refused while one is confirmed.
   */
  async enroll(em: EntityManager, user: TotpUser): Promise<{ secret: string; otpauthUri: string }> {
    const { secrets, emit, productName } = this.deps;
    const secret = newTotpSecret();
    const sealed = await secrets.seal(user.id, secret.bytes);
    await em.transactional(async (tx) => {
      const existing = await tx.findOne(TotpCredential, { userId: user.id });
      if (existing?.confirmedAt) {
        throw new ConflictError('Two-factor sign-in is already enabled: disable it before enrolling again');
      }
      if (existing) tx.remove(existing);
      await tx.flush();
      tx.create(TotpCredential, { userId: user.id, secretJwe: sealed.jwe, kekId: sealed.kekId });
      await tx.flush();
      await emit(tx, 'identity.totp.enrollment_started', { userId: user.id }, { actorId: user.id });
    });
    const otpauthUri = generateURI({
      issuer: productName,
      label: user.email,
      secret: secret.base32,
      period: TOTP_PERIOD_SEC,
    });
    return { secret: secret.base32, otpauthUri };
  }

  /**
   * Confirms the pending enrolment with a code from the app: from now on login asks for codes.
   * Returns ten recovery codes, shown this once (only their hashes are kept).
   */
  async confirm(em: EntityManager, user: TotpUser, code: string, client: TotpClient): Promise<string[]> {
    await this.throttled(user, client);
    const credential = await em.findOne(TotpCredential, { userId: user.id });
    if (!credential) throw new NotFoundError('Pending two-factor enrolment');
    if (credential.confirmedAt) throw new ConflictError('Two-factor sign-in is already enabled');
    if (!(await useTotp(em, this.deps.secrets, credential, code))) await this.wrongCode(em, user, client);
    return em.transactional(async (tx) => {
      await tx.nativeUpdate(TotpCredential, { userId: user.id }, { confirmedAt: new Date() });
      const codes = await this.replaceRecoveryCodes(tx, user.id);
      await this.deps.emit(tx, 'identity.totp.enabled', { userId: user.id }, { actorId: user.id });
      return codes;
    });
  }

  /**
   * Turns two-factor sign-in off, proven by a current code or a recovery code (a stolen access
   * token alone is not enough); the secret and the recovery codes are deleted.
   */
  async disable(em: EntityManager, user: TotpUser, code: string, client: TotpClient): Promise<boolean> {
    const outcome = await this.prove(em, user, code, client);
    await em.transactional(async (tx) => {
      await this.recordRecoveryUse(tx, user.id, outcome);
      await tx.nativeDelete(RecoveryCode, { userId: user.id });
      await tx.nativeDelete(TotpCredential, { userId: user.id });
      await this.deps.emit(tx, 'identity.totp.disabled', { userId: user.id }, { actorId: user.id });
    });
    return true;
  }

  /**
   * An administrator turns a user's two-factor sign-in off (a lost phone and lost recovery codes):
   * the user signs in with the password alone until they enrol again. NOT_FOUND when it is off.
   */
  async disableFor(em: EntityManager, userId: string, actorId: string): Promise<boolean> {
    await em.transactional(async (tx) => {
      const deleted = await tx.nativeDelete(TotpCredential, { userId });
      if (deleted === 0) throw new NotFoundError('Two-factor sign-in of user', userId);
      await tx.nativeDelete(RecoveryCode, { userId });
      await this.deps.emit(tx, 'identity.totp.disabled', { userId }, { actorId });
    });
    return true;
  }

  /** Ten new recovery codes in place of the old ones (used or not), proven as {@link disable} is. */
  async regenerateRecoveryCodes(
    em: EntityManager,
    user: TotpUser,
    code: string,
    client: TotpClient,
  ): Promise<string[]> {
    const outcome = await this.prove(em, user, code, client);
    return em.transactional(async (tx) => {
      await this.recordRecoveryUse(tx, user.id, outcome);
      const codes = await this.replaceRecoveryCodes(tx, user.id);
      await this.deps.emit(tx, 'identity.totp.recovery_codes_regenerated', { userId: user.id }, { actorId: user.id });
      return codes;
    });
  }

  /** Records a recovery code's use (a security event), inside the caller's transaction. */
  async recordRecoveryUse(tx: EntityManager, userId: string, outcome: SecondFactorOutcome): Promise<void> {
    if (outcome.status !== 'verified' || outcome.method !== 'recovery_code') return;
    await this.deps.emit(
      tx,
      'identity.totp.recovery_code_used',
      { userId, remaining: outcome.remainingRecoveryCodes },
      { actorId: userId },
    );
  }

  /** A confirmed second factor proven by `code` (consumed), or BAD_USER_INPUT counted as a failure. */
  private async prove(
    em: EntityManager,
    user: TotpUser,
    code: string,
    client: TotpClient,
  ): Promise<SecondFactorOutcome> {
    await this.throttled(user, client);
    const outcome = await verifySecondFactor(em, this.deps.secrets, user.id, code);
    if (outcome.status === 'not_enrolled') throw new NotFoundError('Two-factor sign-in');
    if (outcome.status !== 'verified') await this.wrongCode(em, user, client);
    return outcome;
  }

  /** RATE_LIMITED while the account or the address is locked out, as login would be. */
  private throttled(user: TotpUser, client: TotpClient): Promise<void> {
    return this.deps.throttle.check(normaliseEmail(user.email), client.ip);
  }

  /** Counts a wrong code like a wrong password (recording a lockout it starts), then refuses. */
  private async wrongCode(em: EntityManager, user: TotpUser, client: TotpClient): Promise<never> {
    const started = await this.deps.throttle.recordFailure(normaliseEmail(user.email), client.ip);
    if (started.length > 0) {
      await em.transactional((tx) => this.#loginEvents.started(tx, started, { userId: user.id, ip: client.ip }));
    }
    throw InputError.field('code', WRONG_CODE);
  }

  private async replaceRecoveryCodes(tx: EntityManager, userId: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    await tx.nativeDelete(RecoveryCode, { userId });
    for (const code of codes) tx.create(RecoveryCode, { userId, codeHash: hashRecoveryCode(userId, code) });
    await tx.flush();
    return codes;
  }
}
