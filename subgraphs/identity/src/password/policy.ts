import { createRequire } from 'node:module';
import { InputError, type FieldError } from '@platform/kernel';

export const PASSWORD_MIN_LENGTH = 10;
/** argon2 would take more, but a cap keeps a multi-megabyte "password" from becoming a cheap DoS. */
export const PASSWORD_MAX_LENGTH = 256;

let common: Set<string> | undefined;

/**
 * The zxcvbn common-password list (49k entries), lower-cased, loaded on first use: its module
 * costs a few MB that a service which never checks a password need not pay. A synchronous
 * require keeps `checkPasswordPolicy` synchronous.
 */
function commonPasswords(): Set<string> {
  if (!common) {
    const load = createRequire(import.meta.url);
    const { dictionary } = load('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };
    common = new Set((dictionary['passwords-common'] ?? []).map((entry) => entry.toLowerCase()));
  }
  return common;
}

/**
 * Every problem with a new password, as `password` field errors; empty when it is acceptable.
 * Follows NIST SP 800-63B: length and a blocklist, no composition rules.
 */
export function checkPasswordPolicy(password: string, email: string): FieldError[] {
  const problems: string[] = [];
  // Code points, not UTF-16 units: an emoji is one character to the person typing it.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters`);
  if (length > PASSWORD_MAX_LENGTH) problems.push(`must be at most ${PASSWORD_MAX_LENGTH} characters`);

  const lower = password.toLowerCase();
  const address = email.trim().toLowerCase();
  const localPart = address.includes('@') ? address.slice(0, address.lastIndexOf('@')) : '';
  if (address && (lower === address || (localPart && lower === localPart))) {
    problems.push('must not be your email address');
  }

  if (length <= PASSWORD_MAX_LENGTH && commonPasswords().has(lower)) problems.push('is too common');

  return problems.map((message) => ({ field: 'password', message }));
}

/** `checkPasswordPolicy` for flows: throws InputError (BAD_USER_INPUT) naming every problem. */
export function assertPasswordPolicy(password: string, email: string): void {
  const fields = checkPasswordPolicy(password, email);
  if (fields.length) {
    throw new InputError(`password ${fields.map((f) => f.message).join(', ')}`, fields);
  }
}
