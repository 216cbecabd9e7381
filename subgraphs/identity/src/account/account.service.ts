import type { SqlEntityManager as EntityManager } from '@mikro-orm/sql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  AuthenticationError,
  ConflictError,
  InputError,
  NotFoundError,
  type FieldError,
  type Logger,
} from '@platform/kernel';
import type { Mailer } from '../mail/mailer.js';
import { passwordChangedEmail, passwordResetEmail, verificationEmail } from '../mail/templates.js';
import { checkPasswordPolicy } from '../password/policy.js';
import type { PasswordHasher } from '../password/hasher.js';
import type { SessionService } from '../session/session.service.js';
import { hashSecret, newSecret } from '../tokens.js';
import { User } from '../user/user.entity.js';
import { cleanDisplayName, emailProblems, findUserByEmail, normaliseEmail } from '../user/user.service.js';
import { EmailToken, type EmailTokenPurpose } from './email-token.entity.js';
import type { Emit } from '../events.js';

export interface AccountSettings {
  appUrl: string;
  productName: string;
  verificationTtlHours: number;
  resetTtlMinutes: number;
}

export interface RegisterInput {
  email: string;
  password: string;
  displayName?: string | null;
}

export interface ProfileChanges {
  displayName?: string | null;
}

export interface UserChanges extends ProfileChanges {
  email?: string | null;
  emailVerified?: boolean | null;
}

type Template<A> = (args: A & { displayName: string | null; productName?: string }) => {
  subject: string;
  text: string;
  html: string;
};

const INVALID_LINK = 'is invalid, expired or already used';

/**
 * Accounts: registration, email verification, password reset and change, profile edits and
 * deletion. Every change records its event in the same transaction; mail goes out after the
 * commit, so a failed send never undoes a change (the user can ask again).
 */
export class AccountService {
  constructor(
    private readonly deps: {
      hasher: PasswordHasher;
      mailer: Mailer;
      sessions: SessionService;
      settings: AccountSettings;
      emit: Emit;
      logger: Logger;
    },
  ) {}

  async register(em: EntityManager, input: RegisterInput): Promise<User> {
    const email = normaliseEmail(input.email);
    let displayName: string | null = null;
    const nameProblems: FieldError[] = [];
    try {
      displayName = cleanDisplayName(input.displayName);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      nameProblems.push(...error.fields);
    }
    const problems = [
      ...emailProblems(email),
      ...checkPasswordPolicy(input.password, { email, displayName }),
      ...nameProblems,
    ];
    if (problems.length > 0) throw new InputError('Registration input is invalid', problems);
    if (await findUserByEmail(em, email)) throw new ConflictError('An account with this email already exists');

    const passwordHash = await this.deps.hasher.hash(input.password);
    let link: string;
    let user: User;
    try {
      ({ user, link } = await em.transactional(async (tx) => {
        const created = tx.create(User, { email, displayName, passwordHash, passwordChangedAt: new Date() });
        await tx.flush();
        const token = await this.newEmailToken(tx, created.id, 'verify_email');
        await this.deps.emit(
          tx,
          'identity.user.created',
          { userId: created.id, email, displayName, via: 'registration' },
          { actorId: created.id },
        );
        return { user: created, link: this.link('verify-email', token) };
      }));
    } catch (error) {
      // Two registrations racing for one email: the unique index decides.
      if (error instanceof UniqueConstraintViolationException) {
        throw new ConflictError('An account with this email already exists');
      }
      throw error;
    }
    await this.mail(user, verificationEmail, { link, expiresInHours: this.deps.settings.verificationTtlHours });
    return user;
  }

  async verifyEmail(em: EntityManager, token: string): Promise<User> {
    return em.transactional(async (tx) => {
      const record = await this.useEmailToken(tx, token, 'verify_email');
      const user = await tx.findOne(User, { id: record.userId, deletedAt: null });
      if (!user) throw InputError.field('token', INVALID_LINK);
      if (!user.emailVerified) {
        user.emailVerified = true;
        await tx.flush();
        await this.deps.emit(tx, 'identity.user.email_verified', { userId: user.id }, { actorId: user.id });
      }
      return user;
    });
  }

  /** Always true: whether the address has an account is not revealed. */
  async resendVerificationEmail(em: EntityManager, email: string): Promise<boolean> {
    const user = await findUserByEmail(em, normaliseEmail(email));
    if (!user || user.emailVerified) return true;
    const link = await em.transactional(async (tx) => {
      // One valid verification link at a time.
      await tx.nativeUpdate(
        EmailToken,
        { userId: user.id, purpose: 'verify_email', usedAt: null },
        { expiresAt: new Date() },
      );
      return this.link('verify-email', await this.newEmailToken(tx, user.id, 'verify_email'));
    });
    this.mailLater(user, verificationEmail, { link, expiresInHours: this.deps.settings.verificationTtlHours });
    return true;
  }

  /**
   * Always true, and the caller learns nothing from the timing either: both paths do one lookup,
   * and the token write and the mail happen after the answer for a known address.
   */
  async requestPasswordReset(em: EntityManager, email: string): Promise<boolean> {
    const address = normaliseEmail(email);
    const user = emailProblems(address).length === 0 ? await findUserByEmail(em, address) : null;
    if (user) {
      setImmediate(() => {
        this.sendReset(em.fork(), user).catch((error: unknown) =>
          this.deps.logger.error({ err: error, userId: user.id }, 'password reset email failed'),
        );
      });
    }
    return true;
  }

  async resetPassword(em: EntityManager, token: string, newPassword: string): Promise<boolean> {
    const user = await em.transactional(async (tx) => {
      const record = await this.useEmailToken(tx, token, 'reset_password');
      const found = await tx.findOne(User, { id: record.userId, deletedAt: null });
      if (!found) throw InputError.field('token', INVALID_LINK);
      const problems = checkPasswordPolicy(newPassword, found).map((p) => ({ ...p, field: 'newPassword' }));
      if (problems.length > 0) throw new InputError('The new password is not acceptable', problems);
      found.passwordHash = await this.deps.hasher.hash(newPassword);
      found.passwordChangedAt = new Date();
      // Whoever asked for the reset proved they read the mail: the address is verified too.
      found.emailVerified = true;
      await tx.flush();
      await this.deps.sessions.revokeAllIn(tx, found.id, 'password_reset');
      await this.deps.emit(
        tx,
        'identity.password.changed',
        { userId: found.id, reason: 'reset' },
        { actorId: found.id },
      );
      return found;
    });
    this.mailLater(user, passwordChangedEmail, { when: new Date() });
    return true;
  }

  async changePassword(
    em: EntityManager,
    caller: { id: string; sessionId?: string },
    currentPassword: string,
    newPassword: string,
  ): Promise<boolean> {
    const user = await em.findOne(User, { id: caller.id, deletedAt: null }, { populate: ['passwordHash'] });
    if (!user) throw new AuthenticationError();
    if (!user.passwordHash || !(await this.deps.hasher.verify(user.passwordHash, currentPassword))) {
      throw InputError.field('currentPassword', 'is not your current password');
    }
    const problems = checkPasswordPolicy(newPassword, user).map((p) => ({ ...p, field: 'newPassword' }));
    if (newPassword === currentPassword)
      problems.push({ field: 'newPassword', message: 'must differ from the current one' });
    if (problems.length > 0) throw new InputError('The new password is not acceptable', problems);
    const passwordHash = await this.deps.hasher.hash(newPassword);
    await em.transactional(async (tx) => {
      await tx.nativeUpdate(
        User,
        { id: user.id },
        { passwordHash, passwordChangedAt: new Date(), updatedAt: new Date() },
      );
      await this.deps.sessions.revokeAllIn(tx, user.id, 'password_changed', caller.sessionId);
      await this.deps.emit(
        tx,
        'identity.password.changed',
        { userId: user.id, reason: 'changed' },
        { actorId: user.id },
      );
    });
    this.mailLater(user, passwordChangedEmail, { when: new Date() });
    return true;
  }

  async updateProfile(em: EntityManager, userId: string, changes: ProfileChanges): Promise<User> {
    return this.update(em, userId, changes);
  }

  /** An administrator's edit: profile, email (unverified again when it changes) and verification state. */
  async updateUser(em: EntityManager, userId: string, changes: UserChanges): Promise<User> {
    return this.update(em, userId, changes);
  }

  /**
   * Deletes an account: the row stays as a tombstone without personal data (other modules keep
   * referring to the id), every session is revoked and `identity.user.deleted` is published.
   */
  async deleteUser(em: EntityManager, userId: string): Promise<boolean> {
    await em.transactional(async (tx) => {
      const user = await tx.findOne(User, { id: userId, deletedAt: null });
      if (!user) throw new NotFoundError('User', userId);
      user.deletedAt = new Date();
      user.email = `deleted-${user.id}@invalid`;
      user.displayName = null;
      user.passwordHash = null;
      user.emailVerified = false;
      await tx.flush();
      await tx.nativeDelete(EmailToken, { userId });
      await this.deps.sessions.revokeAllIn(tx, userId, 'user_deleted');
      await this.deps.emit(tx, 'identity.user.deleted', { userId });
    });
    return true;
  }

  /** Creates the first administrator once; later runs leave an existing account alone. */
  async ensureUser(em: EntityManager, email: string, password: string, displayName: string): Promise<User> {
    const address = normaliseEmail(email);
    const existing = await findUserByEmail(em, address);
    if (existing) return existing;
    const problems = [...emailProblems(address), ...checkPasswordPolicy(password, { email: address, displayName })];
    if (problems.length > 0) throw new InputError('The seed administrator is not acceptable', problems);
    const passwordHash = await this.deps.hasher.hash(password);
    return em.transactional(async (tx) => {
      const user = tx.create(User, {
        email: address,
        displayName,
        passwordHash,
        passwordChangedAt: new Date(),
        emailVerified: true,
      });
      await tx.flush();
      await this.deps.emit(tx, 'identity.user.created', {
        userId: user.id,
        email: address,
        displayName,
        via: 'seed',
      });
      return user;
    });
  }

  private async update(em: EntityManager, userId: string, changes: UserChanges): Promise<User> {
    return em.transactional(async (tx) => {
      const user = await tx.findOne(User, { id: userId, deletedAt: null });
      if (!user) throw new NotFoundError('User', userId);
      const changed: string[] = [];
      if (changes.displayName !== undefined) {
        const displayName = cleanDisplayName(changes.displayName);
        if (displayName !== user.displayName) {
          user.displayName = displayName;
          changed.push('displayName');
        }
      }
      if (changes.email !== undefined && changes.email !== null) {
        const email = normaliseEmail(changes.email);
        const problems = emailProblems(email);
        if (problems.length > 0) throw new InputError('The email is not valid', problems);
        if (email !== user.email) {
          const other = await findUserByEmail(tx, email);
          if (other && other.id !== user.id) throw new ConflictError('An account with this email already exists');
          user.email = email;
          user.emailVerified = false;
          changed.push('email', 'emailVerified');
        }
      }
      if (changes.emailVerified !== undefined && changes.emailVerified !== null) {
        if (changes.emailVerified !== user.emailVerified) {
          user.emailVerified = changes.emailVerified;
          if (!changed.includes('emailVerified')) changed.push('emailVerified');
        }
      }
      if (changed.length === 0) return user;
      try {
        await tx.flush();
      } catch (error) {
        if (error instanceof UniqueConstraintViolationException) {
          throw new ConflictError('An account with this email already exists');
        }
        throw error;
      }
      await this.deps.emit(tx, 'identity.user.updated', { userId: user.id, changed });
      return user;
    });
  }

  private async sendReset(em: EntityManager, user: User): Promise<void> {
    const link = await em.transactional(async (tx) => {
      await tx.nativeUpdate(
        EmailToken,
        { userId: user.id, purpose: 'reset_password', usedAt: null },
        { expiresAt: new Date() },
      );
      await this.deps.emit(tx, 'identity.password.reset_requested', { userId: user.id });
      return this.link('reset-password', await this.newEmailToken(tx, user.id, 'reset_password'));
    });
    await this.mail(user, passwordResetEmail, { link, expiresInMinutes: this.deps.settings.resetTtlMinutes });
  }

  private async newEmailToken(tx: EntityManager, userId: string, purpose: EmailTokenPurpose): Promise<string> {
    const { verificationTtlHours, resetTtlMinutes } = this.deps.settings;
    const ttlMs = purpose === 'verify_email' ? verificationTtlHours * 3_600_000 : resetTtlMinutes * 60_000;
    const token = newSecret();
    tx.create(EmailToken, { userId, purpose, tokenHash: hashSecret(token), expiresAt: new Date(Date.now() + ttlMs) });
    await tx.flush();
    return token;
  }

  /** Claims a link token: right purpose, unexpired, unused; marks it used in the same transaction. */
  private async useEmailToken(tx: EntityManager, token: string, purpose: EmailTokenPurpose): Promise<EmailToken> {
    if (!token || token.length > 200) throw InputError.field('token', INVALID_LINK);
    const record = await tx.findOne(EmailToken, { tokenHash: hashSecret(token), purpose });
    if (!record || record.usedAt || record.expiresAt <= new Date()) throw InputError.field('token', INVALID_LINK);
    const claimed = await tx.nativeUpdate(EmailToken, { id: record.id, usedAt: null }, { usedAt: new Date() });
    if (claimed === 0) throw InputError.field('token', INVALID_LINK);
    return record;
  }

  private link(path: string, token: string): string {
    const url = new URL(
      path,
      this.deps.settings.appUrl.endsWith('/') ? this.deps.settings.appUrl : `${this.deps.settings.appUrl}/`,
    );
    url.searchParams.set('token', token);
    return url.toString();
  }

  private async mail<A>(user: User, template: Template<A>, args: A): Promise<void> {
    try {
      const message = template({
        ...args,
        displayName: user.displayName ?? null,
        productName: this.deps.settings.productName,
      });
      await this.deps.mailer.send({ to: user.email, ...message });
    } catch (error) {
      this.deps.logger.error({ err: error, userId: user.id }, 'could not send email');
    }
  }

  /** Sends after the answer: the change is committed, and mail must not slow the response. */
  private mailLater<A>(user: User, template: Template<A>, args: A): void {
    void this.mail(user, template, args);
  }
}
