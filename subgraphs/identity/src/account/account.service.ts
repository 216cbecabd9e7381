import { OrganizationMember } from '../organization/organization.entity.js';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  AuthenticationError,
  ConflictError,
  fieldError,
  InputError,
  NotFoundError,
  renamedField,
  type FieldError,
  type Logger,
  type EntityManager,
  type Emit,
  type ModuleMail,
} from '@platform/kernel';
import { text } from '../i18n/index.js';
import { checkPasswordPolicy } from '../password/policy.js';
import type { PasswordHasher } from '../password/hasher.js';
import type { ApiKeyService } from '../apikey/api-key.service.js';
import { endCredentials } from './take-over.js';
import type { SessionService } from '../session/session.service.js';
import { User } from '../user/user.entity.js';
import { cleanDisplayName, cleanLocale, emailProblems, findUserByEmail, normaliseEmail } from '../user/user.service.js';
import { AccountMail } from './account-mail.js';
import { EmailToken, type EmailTokenPurpose } from './email-token.entity.js';
import { INVALID_LINK, newEmailToken, replaceEmailToken, useEmailToken } from './email-tokens.js';
import type { IdentityEvents } from '../events.js';

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
  /** A supported locale, or null to follow each request's language. */
  locale?: string | null;
}

export interface UserChanges extends ProfileChanges {
  email?: string | null;
  emailVerified?: boolean | null;
}

/**
 * Accounts: registration, email verification, password reset and change, profile edits and
 * deletion. Every change records its event in the same transaction; mail goes out after the
 * answer (see `AccountMail`). Nothing a caller without the account can reach tells whether an
 * address has one: `register`, `resendVerificationEmail` and `requestPasswordReset` answer alike
 * and cost alike either way.
 */
export class AccountService {
  private readonly mail: AccountMail;

  constructor(
    private readonly deps: {
      hasher: PasswordHasher;
      mail: ModuleMail;
      sessions: SessionService;
      /** Revoked when the seed adopts an account (see `endCredentials`). */
      apiKeys: ApiKeyService;
      settings: AccountSettings;
      emit: Emit<IdentityEvents>;
      logger: Logger;
    },
  ) {
    const { appUrl, productName } = deps.settings;
    this.mail = new AccountMail({ mail: deps.mail, appUrl, productName, logger: deps.logger });
  }

  /**
   * A new, unverified account, and a verification mail. For an address that already has an
   * account the answer looks the same (a fresh id, the caller's own input, none of the real
   * account's data, the same password hash work before it) and the owner is mailed instead; so
   * is the loser of two registrations racing for one new address.
   */
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
    if (problems.length > 0) throw new InputError(text('registration.invalid'), problems);

    const existing = await findUserByEmail(em, email);
    // Hashed whether or not the address is taken: the hash is most of the answer's time.
    const passwordHash = await this.deps.hasher.hash(input.password);
    if (existing) return this.registeredAgain(em, existing, { email, displayName });
    try {
      const { user, link } = await em.transactional(async (tx) => {
        const created = tx.create(User, { email, displayName, passwordHash, passwordChangedAt: new Date() });
        await tx.flush();
        const token = await newEmailToken(tx, created.id, 'verify_email', this.ttlMs('verify_email'));
        await this.deps.emit(
          tx,
          'identity.user.created',
          { userId: created.id, email, displayName, via: 'registration' },
          { actorId: created.id },
        );
        return { user: created, link: this.mail.link('verify-email', token) };
      });
      this.mail.sendLater(user, 'verification', { link, expiresInHours: this.deps.settings.verificationTtlHours });
      return user;
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      // Two registrations raced for one address and the unique index chose the other one.
      const fork = em.fork();
      return this.registeredAgain(fork, await findUserByEmail(fork, email), { email, displayName });
    }
  }

  /**
   * `register` for an address that has an account: records `identity.registration.duplicate`
   * (one write, as a registration makes), mails the owner after the answer, and answers with an
   * account that looks new and exists nowhere.
   */
  private async registeredAgain(
    em: EntityManager,
    owner: User | null,
    attempt: { email: string; displayName: string | null },
  ): Promise<User> {
    if (owner) {
      await em.transactional((tx) => this.deps.emit(tx, 'identity.registration.duplicate', { userId: owner.id }));
      this.mail.sendLater(owner, 'registrationAttempt', { resetLink: this.mail.link('reset-password') });
    }
    const now = new Date();
    return Object.assign(new User(), { ...attempt, emailVerified: false, createdAt: now, updatedAt: now });
  }

  async verifyEmail(em: EntityManager, token: string): Promise<User> {
    return em.transactional(async (tx) => {
      const record = await useEmailToken(tx, token, 'verify_email');
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

  /**
   * Always true, and the timing says nothing either: both paths do one lookup before the answer;
   * the token write and the mail for an unverified account happen after it.
   */
  async resendVerificationEmail(em: EntityManager, email: string): Promise<boolean> {
    const address = normaliseEmail(email);
    const user = emailProblems(address).length === 0 ? await findUserByEmail(em, address) : null;
    if (user && !user.emailVerified) {
      this.mail.afterAnswer(em, user.id, 'verification email failed', async (fork) => {
        const token = await fork.transactional((tx) =>
          replaceEmailToken(tx, user.id, 'verify_email', this.ttlMs('verify_email')),
        );
        const link = this.mail.link('verify-email', token);
        await this.mail.send(user, 'verification', {
          link,
          expiresInHours: this.deps.settings.verificationTtlHours,
        });
      });
    }
    return true;
  }

  /** Always true, like `resendVerificationEmail`: one lookup before the answer, the rest after. */
  async requestPasswordReset(em: EntityManager, email: string): Promise<boolean> {
    const address = normaliseEmail(email);
    const user = emailProblems(address).length === 0 ? await findUserByEmail(em, address) : null;
    if (user) {
      this.mail.afterAnswer(em, user.id, 'password reset email failed', async (fork) => {
        const token = await fork.transactional(async (tx) => {
          await this.deps.emit(tx, 'identity.password.reset_requested', { userId: user.id });
          return replaceEmailToken(tx, user.id, 'reset_password', this.ttlMs('reset_password'));
        });
        const link = this.mail.link('reset-password', token);
        await this.mail.send(user, 'passwordReset', { link, expiresInMinutes: this.deps.settings.resetTtlMinutes });
      });
    }
    return true;
  }

  async resetPassword(em: EntityManager, token: string, newPassword: string): Promise<boolean> {
    const user = await em.transactional(async (tx) => {
      const record = await useEmailToken(tx, token, 'reset_password');
      const found = await tx.findOne(User, { id: record.userId, deletedAt: null });
      if (!found) throw InputError.field('token', INVALID_LINK);
      const problems = checkPasswordPolicy(newPassword, found).map((p) => renamedField(p, 'newPassword'));
      if (problems.length > 0) throw new InputError(text('password.notAcceptable'), problems);
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
    this.mail.sendLater(user, 'passwordChanged', { when: new Date().toISOString() });
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
      throw InputError.field('currentPassword', text('password.notCurrent'));
    }
    const problems = checkPasswordPolicy(newPassword, user).map((p) => renamedField(p, 'newPassword'));
    if (newPassword === currentPassword) problems.push(fieldError('newPassword', text('password.sameAsCurrent')));
    if (problems.length > 0) throw new InputError(text('password.notAcceptable'), problems);
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
    this.mail.sendLater(user, 'passwordChanged', { when: new Date().toISOString() });
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
   * referring to the id), every credential ends (sessions, second factor, API keys, provider
   * links: `endCredentials`) and `identity.user.deleted` is published.
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
      // Sessions, second factor, API keys and provider links go with the account.
      await endCredentials(tx, userId, this.deps, 'user_deleted');
      // Memberships go too (an organization may be left without an owner: platform staff decide).
      await tx.nativeDelete(OrganizationMember, { userId });
      await this.deps.emit(tx, 'identity.user.deleted', { userId });
    });
    return true;
  }

  /**
   * The administrator from `SEED_ADMIN_EMAIL` / `SEED_ADMIN_PASSWORD`: created (verified, marked
   * `seededAt`) when no account has the address; left as it is when the seed made it before. An
   * account the seed did not make (someone registered the address first) is refused with a
   * ConflictError unless `adoptExisting`: then its password becomes the seed's, every session of
   * it ends, and it is marked verified and seeded. A password is checked against the policy only
   * when it is set.
   */
  async ensureAdministrator(
    em: EntityManager,
    input: { email: string; password: string; displayName: string; adoptExisting: boolean },
  ): Promise<{ user: User; action: 'created' | 'present' | 'adopted' }> {
    const address = normaliseEmail(input.email);
    const existing = await findUserByEmail(em, address);
    if (existing?.seededAt) return { user: existing, action: 'present' };
    if (existing && !input.adoptExisting) {
      throw new ConflictError(
        `An account with ${address} exists that the seed did not create (registered ${existing.createdAt.toISOString()}); ` +
          'it is not made administrator. Run `platformctl seed --adopt-existing` to take it over (its password becomes ' +
          'SEED_ADMIN_PASSWORD and its sessions end), or choose another SEED_ADMIN_EMAIL.',
      );
    }
    const displayName = existing?.displayName ?? input.displayName;
    const problems = [
      ...(existing ? [] : emailProblems(address)),
      ...checkPasswordPolicy(input.password, { email: address, displayName }),
    ];
    if (problems.length > 0) throw new InputError('The seed administrator is not acceptable', problems);
    const passwordHash = await this.deps.hasher.hash(input.password);
    return em.transactional(async (tx) => {
      if (existing) {
        const user = tx.merge(existing);
        Object.assign(user, { passwordHash, passwordChangedAt: new Date(), emailVerified: true, seededAt: new Date() });
        await tx.flush();
        // Whoever registered the address first keeps nothing: sessions, second factor, keys, links.
        await endCredentials(tx, user.id, this.deps, 'seed_adopted');
        await this.deps.emit(tx, 'identity.password.changed', { userId: user.id, reason: 'seed' });
        return { user, action: 'adopted' as const };
      }
      const user = tx.create(User, {
        email: address,
        displayName,
        passwordHash,
        passwordChangedAt: new Date(),
        emailVerified: true,
        seededAt: new Date(),
      });
      await tx.flush();
      await this.deps.emit(tx, 'identity.user.created', {
        userId: user.id,
        email: address,
        displayName,
        via: 'seed',
      });
      return { user, action: 'created' as const };
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
      if (changes.locale !== undefined) {
        const locale = cleanLocale(changes.locale);
        if (locale !== (user.locale ?? null)) {
          user.locale = locale;
          changed.push('locale');
        }
      }
      if (changes.email !== undefined && changes.email !== null) {
        const email = normaliseEmail(changes.email);
        const problems = emailProblems(email);
        if (problems.length > 0) throw new InputError(text('email.notValid'), problems);
        if (email !== user.email) {
          const other = await findUserByEmail(tx, email);
          if (other && other.id !== user.id) throw new ConflictError(text('email.taken'));
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
          throw new ConflictError(text('email.taken'));
        }
        throw error;
      }
      await this.deps.emit(tx, 'identity.user.updated', { userId: user.id, changed });
      return user;
    });
  }

  private ttlMs(purpose: EmailTokenPurpose): number {
    const { verificationTtlHours, resetTtlMinutes } = this.deps.settings;
    return purpose === 'verify_email' ? verificationTtlHours * 3_600_000 : resetTtlMinutes * 60_000;
  }
}
