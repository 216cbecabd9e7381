import { InputError, type EntityManager } from '@platform/kernel';
import { text } from '../i18n/index.js';
import { hashSecret, newSecret } from '../tokens.js';
import { EmailToken, type EmailTokenPurpose } from './email-token.entity.js';

/** The one answer for every bad link token: which of these it was is nobody's business. */
export const INVALID_LINK = text('token.invalid');

/**
 * Makes `userId`'s only valid link for `purpose`: earlier unused ones expire now. Returns the
 * token for the link; only its hash is stored.
 */
export async function replaceEmailToken(
  tx: EntityManager,
  userId: string,
  purpose: EmailTokenPurpose,
  ttlMs: number,
): Promise<string> {
  await tx.nativeUpdate(EmailToken, { userId, purpose, usedAt: null }, { expiresAt: new Date() });
  return newEmailToken(tx, userId, purpose, ttlMs);
}

/** A new link token for `userId`, valid for `ttlMs`. */
export async function newEmailToken(
  tx: EntityManager,
  userId: string,
  purpose: EmailTokenPurpose,
  ttlMs: number,
): Promise<string> {
  const token = newSecret();
  tx.create(EmailToken, { userId, purpose, tokenHash: hashSecret(token), expiresAt: new Date(Date.now() + ttlMs) });
  await tx.flush();
  return token;
}

/** Claims a link token: right purpose, unexpired, unused; marks it used in the same transaction. */
export async function useEmailToken(tx: EntityManager, token: string, purpose: EmailTokenPurpose): Promise<EmailToken> {
  if (!token || token.length > 200) throw InputError.field('token', INVALID_LINK);
  const record = await tx.findOne(EmailToken, { tokenHash: hashSecret(token), purpose });
  if (!record || record.usedAt || record.expiresAt <= new Date()) throw InputError.field('token', INVALID_LINK);
  const claimed = await tx.nativeUpdate(EmailToken, { id: record.id, usedAt: null }, { usedAt: new Date() });
  if (claimed === 0) throw InputError.field('token', INVALID_LINK);
  return record;
}
