import type { EntityManager } from '@platform/kernel';
import { checkTotp, hashRecoveryCode, isTotpCode } from './codes.js';
import type { TotpSecrets } from './secret.js';
import { RecoveryCode, TotpCredential } from './totp.entity.js';

/** How a second factor was proven. */
export type SecondFactorMethod = 'totp' | 'recovery_code';

/**
 * What {@link verifySecondFactor} found: the user has no (confirmed) second factor; it is
 * required and no code was given; the code is wrong (or already used); or it was proven, by a
 * TOTP or a recovery code (then consumed: `remainingRecoveryCodes` left).
 */
export type SecondFactorOutcome =
  | { status: 'not_enrolled' }
  | { status: 'missing' }
  | { status: 'invalid' }
  | { status: 'verified'; method: 'totp' }
  | { status: 'verified'; method: 'recovery_code'; remainingRecoveryCodes: number };

/** Whether signing in as `userId` asks for a second factor (a confirmed authenticator). */
export async function secondFactorEnabled(em: EntityManager, userId: string): Promise<boolean> {
  return (await secondFactorEnabledOf(em, [userId]))[0]!;
}

/** {@link secondFactorEnabled} for many users in one query (a DataLoader's batch), in order. */
export async function secondFactorEnabledOf(em: EntityManager, userIds: readonly string[]): Promise<boolean[]> {
  const rows = await em.find(
    TotpCredential,
    { userId: { $in: [...userIds] }, confirmedAt: { $ne: null } },
    { fields: ['userId'] },
  );
  const enabled = new Set(rows.map((row) => row.userId));
  return userIds.map((id) => enabled.has(id));
}

/**
 * The second-factor check of every sign-in (GraphQL `login`, the OpenID Connect sign-in page):
 * for a user with a confirmed authenticator, `code` must be a TOTP of a time step after the last
 * one accepted, or one of their unused recovery codes. A code that passes is used up at once
 * (each statement claims it atomically, so of two concurrent uses of one code only one passes).
 *
 * It neither throttles nor records events: the caller counts an `invalid` outcome towards the
 * login lockout (as a wrong password) and records a recovery code's use.
 */
export async function verifySecondFactor(
  em: EntityManager,
  secrets: TotpSecrets,
  userId: string,
  code: string | null | undefined,
): Promise<SecondFactorOutcome> {
  const credential = await em.findOne(TotpCredential, { userId, confirmedAt: { $ne: null } });
  if (!credential) return { status: 'not_enrolled' };
  if (!code?.trim()) return { status: 'missing' };
  if (isTotpCode(code)) {
    return (await useTotp(em, secrets, credential, code))
      ? { status: 'verified', method: 'totp' }
      : { status: 'invalid' };
  }
  const used = await em.nativeUpdate(
    RecoveryCode,
    { userId, codeHash: hashRecoveryCode(userId, code), usedAt: null },
    { usedAt: new Date() },
  );
  if (used === 0) return { status: 'invalid' };
  const remainingRecoveryCodes = await em.count(RecoveryCode, { userId, usedAt: null });
  return { status: 'verified', method: 'recovery_code', remainingRecoveryCodes };
}

/**
 * Checks a TOTP against `credential` (confirmed or pending) and records its time step, only if
 * no code of that step or a later one was recorded meanwhile: true when this call accepted it.
 */
export async function useTotp(
  em: EntityManager,
  secrets: TotpSecrets,
  credential: TotpCredential,
  code: string,
): Promise<boolean> {
  const { secret, resealed } = await secrets.unseal(credential.userId, credential.secretJwe);
  const step = await checkTotp(secret, code, credential.lastTimeStep);
  if (step === null) return false;
  // A secret under a previous key-encryption key moves to the current one with the step.
  const update = { lastTimeStep: step, ...(resealed ? { secretJwe: resealed.jwe, kekId: resealed.kekId } : {}) };
  const claimed = await em.nativeUpdate(
    TotpCredential,
    {
      userId: credential.userId,
      secretJwe: credential.secretJwe, // not re-enrolled meanwhile
      $or: [{ lastTimeStep: null }, { lastTimeStep: { $lt: step } }],
    },
    update,
  );
  if (claimed === 0) return false;
  Object.assign(credential, update);
  return true;
}
