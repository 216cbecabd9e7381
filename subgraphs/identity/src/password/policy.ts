import { createRequire } from 'node:module';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';
import { fieldError, InputError, type FieldError, type Message } from '@platform/kernel';
import { text } from '../i18n/index.js';

/** NIST SP 800-63B asks for at least 8; 12 leaves room for passphrases and costs users little. */
export const PASSWORD_MIN_LENGTH = 12;
/** argon2 would take more, but a cap keeps a multi-megabyte "password" from becoming a cheap DoS. */
export const PASSWORD_MAX_LENGTH = 256;
/** Fewer different characters than this (`aaaaaaaaaaaa`, `abababababab`) is refused outright. */
export const PASSWORD_MIN_DISTINCT = 5;
/**
 * The zxcvbn score (0–4) a password must reach. 3 means at least 10^8 guesses by zxcvbn's
 * estimate ("safely unguessable" online, some protection offline behind a slow hash such as
 * argon2id); 2 would let `Summer2024!` variants through.
 */
export const PASSWORD_MIN_SCORE = 3;
/**
 * How many leading characters (code points) zxcvbn judges. Its matchers grow faster than
 * linearly with the length (about 2 ms at 24 characters here, 5 at 32, a second at 256); a
 * password whose first 24 characters are hard to guess is hard to guess, and one whose start is
 * weak (`passwordpasswordpassword…`) is refused whatever follows.
 */
export const PASSWORD_ESTIMATE_LENGTH = 24;
/**
 * Leetspeak variants zxcvbn tries per match (`p@55w0rd`). Its default, 100, costs tens of ms
 * per check with the English dictionaries; 3 still sees through the usual substitutions.
 */
const L33T_MAX_SUBSTITUTIONS = 3;
/**
 * The English lists that change decisions (words, first and last names, Wikipedia terms; without
 * them `shooting2550` or `worryimmediately` pass). Its small word-sequence lists (months,
 * numbers, colours…) are left out: they cost more than the rest together and their words are in
 * the common-words list anyway.
 */
const ENGLISH = ['commonWords-en', 'firstnames-en', 'lastnames-en', 'wikipedia-en'] as const;

interface Strength {
  zxcvbn: ZxcvbnFactory;
  /** zxcvbn's common-password list (breach corpora, 49k entries), lower-cased. */
  common: Set<string>;
}

let strength: Strength | undefined;

/**
 * zxcvbn with the common-password, diceware and English dictionaries (offline, bundled in the
 * packages; nothing is fetched), built on first use: the dictionaries cost some MB and a few hundred ms that a
 * service which never checks a password need not pay. A synchronous require keeps
 * `checkPasswordPolicy` synchronous.
 */
function estimator(): Strength {
  if (!strength) {
    const load = createRequire(import.meta.url);
    const core = load('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
    const common = load('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
    const en = load('@zxcvbn-ts/language-en') as typeof import('@zxcvbn-ts/language-en');
    strength = {
      zxcvbn: new core.ZxcvbnFactory({
        dictionary: { ...common.dictionary, ...Object.fromEntries(ENGLISH.map((name) => [name, en.dictionary[name]])) },
        graphs: common.adjacencyGraphs,
        translations: en.translations,
        l33tMaxSubstitutions: L33T_MAX_SUBSTITUTIONS,
        // zxcvbn counts UTF-16 units; `checkPasswordPolicy` has already cut at code points.
        maxLength: PASSWORD_ESTIMATE_LENGTH * 2,
      }),
      common: new Set(common.dictionary['passwords-common'].map((entry) => entry.toLowerCase())),
    };
  }
  return strength;
}

/** Who the password belongs to: what they typed elsewhere is the first thing an attacker tries. */
export interface PasswordOwner {
  email: string;
  displayName?: string | null;
}

/** The email, its local part, the display name, and the pieces of each: zxcvbn's user inputs. */
function personalWords(owner: PasswordOwner): string[] {
  const address = owner.email.trim().toLowerCase();
  const localPart = address.includes('@') ? address.slice(0, address.lastIndexOf('@')) : '';
  const name = owner.displayName?.trim().toLowerCase() ?? '';
  const words = [address, localPart, name];
  for (const text of [address, localPart, name]) {
    const parts = text.split(/[^\p{L}\p{N}]+/u);
    words.push(...parts, parts.join(''));
  }
  return [...new Set(words.filter((word) => word.length >= 3))];
}

/** zxcvbn's explanation, e.g. `Repeated characters like "aaa" are easy to guess. Add more words…`. */
function explain(feedback: { warning: string | null; suggestions: string[] }): string {
  const sentence = (text: string): string => (/[.!?]$/.test(text) ? text : `${text}.`);
  return [feedback.warning, ...feedback.suggestions]
    .filter((text): text is string => Boolean(text))
    .map(sentence)
    .join(' ');
}

/**
 * Every problem with a new password, as `password` field errors; empty when it is acceptable.
 * Follows NIST SP 800-63B: a length range counted in code points, no composition rules, and a
 * check against what attackers try first: common and breached passwords, too few different
 * characters, and (zxcvbn, with the owner's email and name as known words) anything else
 * guessable in under 10^8 tries. The estimate only runs once the cheap rules pass, and on at
 * most the first `PASSWORD_ESTIMATE_LENGTH` characters, so a check costs a few ms at most.
 */
export function checkPasswordPolicy(password: string, owner: PasswordOwner): FieldError[] {
  return passwordProblems(password, owner).map((problem) => fieldError('password', problem));
}

/** What `checkPasswordPolicy` finds, as texts. */
function passwordProblems(password: string, owner: PasswordOwner): Message[] {
  // Code points, not UTF-16 units: an emoji is one character to the person typing it.
  const characters = [...password];
  if (characters.length > PASSWORD_MAX_LENGTH) return [text('password.tooLong', { max: PASSWORD_MAX_LENGTH })];
  const problems: Message[] = [];
  if (characters.length < PASSWORD_MIN_LENGTH) problems.push(text('password.tooShort', { min: PASSWORD_MIN_LENGTH }));

  const lower = password.toLowerCase();
  const address = owner.email.trim().toLowerCase();
  const localPart = address.includes('@') ? address.slice(0, address.lastIndexOf('@')) : '';
  // The whole address anywhere: zxcvbn only sees the start, and `alice@example.com1` would pass it.
  if (address && lower.includes(address)) problems.push(text('password.containsEmail'));
  else if (localPart && lower === localPart) problems.push(text('password.isEmail'));
  const { zxcvbn, common } = estimator();
  if (common.has(lower)) problems.push(text('password.tooCommon'));
  if (new Set(characters).size < PASSWORD_MIN_DISTINCT) problems.push(text('password.tooFewDistinct'));

  if (problems.length === 0) {
    const start = characters.slice(0, PASSWORD_ESTIMATE_LENGTH).join('');
    const result = zxcvbn.check(start, personalWords(owner));
    if (result.score < PASSWORD_MIN_SCORE) {
      const why = explain(result.feedback);
      problems.push(why ? text('password.guessableWhy', { why }) : text('password.guessable'));
    }
  }
  return problems;
}

/** `checkPasswordPolicy` for flows: throws InputError (BAD_USER_INPUT) naming every problem. */
export function assertPasswordPolicy(password: string, owner: PasswordOwner): void {
  const problems = passwordProblems(password, owner);
  if (problems.length) {
    throw new InputError(
      text('password.problems', { problems }),
      problems.map((problem) => fieldError('password', problem)),
    );
  }
}
