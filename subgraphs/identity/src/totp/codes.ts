import { createHash, randomInt } from 'node:crypto';
import { verify } from 'otplib';

/** RFC 6238 as every authenticator app does it: SHA-1, 6 digits, 30 s steps. */
export const TOTP_PERIOD_SEC = 30;
const DIGITS = 6;
/** One step either side: a phone clock 30 s off, or a code typed as it changed, still passes. */
const TOLERANCE_SEC = TOTP_PERIOD_SEC;

/** How many recovery codes a user gets, each single-use. */
export const RECOVERY_CODE_COUNT = 10;
/** Base32's alphabet, lower case: no 0/1/8/9, so no o/l/b/g confusion either way. */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
/** 16 characters of 32: 80 bits, shown as `xxxx-xxxx-xxxx-xxxx`. */
const RECOVERY_LENGTH = 16;

/** Spaces and hyphens are presentation: `123 456`, `ABCD-efgh-…` are accepted as typed. */
const normalise = (code: string): string => code.replace(/[\s-]/g, '').toLowerCase();

/** Whether `code` looks like a TOTP (6 digits); anything else is tried as a recovery code. */
export const isTotpCode = (code: string): boolean => new RegExp(`^\\d{${DIGITS}}$`).test(normalise(code));

/**
 * Checks a TOTP against `secret` at `epochSec` (default now), refusing any code of a time step at
 * or before `afterTimeStep` (the last one accepted): the matched time step, or null. The caller
 * must record the step it returns, atomically, for the refusal of replays to hold.
 */
export async function checkTotp(
  secret: Uint8Array,
  code: string,
  afterTimeStep: number | null | undefined,
  epochSec = Math.floor(Date.now() / 1000),
): Promise<number | null> {
  const token = normalise(code);
  if (!isTotpCode(token)) return null;
  try {
    const result = await verify({
      secret,
      token,
      epoch: epochSec,
      period: TOTP_PERIOD_SEC,
      digits: DIGITS,
      epochTolerance: TOLERANCE_SEC,
      ...(afterTimeStep === null || afterTimeStep === undefined ? {} : { afterTimeStep }),
    });
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  } catch {
    // otplib throws for inputs it cannot judge (a last step ahead of the clock, after the clock
    // went back): not a code to accept.
    return null;
  }
}

/** Ten new recovery codes, as shown to the user once. */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const chars = Array.from({ length: RECOVERY_LENGTH }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
    return chars.match(/.{4}/g)!.join('-');
  });
}

/**
 * What is stored for a recovery code: SHA-256 of the user and the code as typed without
 * presentation. 80 random bits need no slow hash; the user id keeps equal codes of two users apart.
 */
export function hashRecoveryCode(userId: string, code: string): string {
  return createHash('sha256')
    .update(`${userId.toLowerCase()}:${normalise(code)}`, 'utf8')
    .digest('hex');
}
