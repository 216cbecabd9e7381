import { describe, expect, it } from '@jest/globals';
import { InputError } from '@platform/kernel';
import { assertPasswordPolicy, checkPasswordPolicy } from './policy.js';

const EMAIL = 'Alice.Liddell@Example.com';
const messages = (password: string, email = EMAIL): string[] =>
  checkPasswordPolicy(password, email).map((e) => e.message);

describe('checkPasswordPolicy', () => {
  it.each([
    ['a good passphrase', 'tangerine-bicycle-orbit', []],
    ['exactly 10 characters', 'x7#kq9!mzw', []],
    ['10 emoji (code points, not UTF-16 units)', '🦊🐙🦉🐝🦋🐢🦀🐌🦔🐳', []],
    ['too short', 'x7#kq9!mz', ['must be at least 10 characters']],
    ['empty', '', ['must be at least 10 characters']],
    ['too long', 'a'.repeat(257), ['must be at most 256 characters']],
    ['256 characters', 'ab'.repeat(128), []],
    ['the email', 'alice.liddell@example.com', ['must not be your email address']],
    ['the email, other case', 'ALICE.LIDDELL@EXAMPLE.COM', ['must not be your email address']],
    ['the local part', 'alice.liddell', ['must not be your email address']],
    ['the local part, other case', 'Alice.LIDDELL', ['must not be your email address']],
    ['common: password123', 'password123', ['is too common']],
    ['common: qwertyuiop', 'qwertyuiop', ['is too common']],
    ['common, other case', 'QwertyUIOP', ['is too common']],
    ['common and short', 'password', ['must be at least 10 characters', 'is too common']],
  ])('%s', (_name, password, expected) => {
    expect(messages(password)).toEqual(expected);
  });

  it('reports every problem at once, on the password field', () => {
    expect(checkPasswordPolicy('alice', 'alice@example.com')).toEqual([
      { field: 'password', message: 'must be at least 10 characters' },
      { field: 'password', message: 'must not be your email address' },
      { field: 'password', message: 'is too common' },
    ]);
  });

  it('uses the long entries of the common list too', () => {
    // Entries of 10+ characters from the frequency-ranked zxcvbn list, from its head to its tail.
    for (const password of ['1234567890', 'basketball', 'iloveyou12', 'vinogradov', '87654321vv']) {
      expect(messages(password, 'someone@example.com')).toEqual(['is too common']);
    }
  });

  it('does not treat a local part of "" or an address without @ as a match', () => {
    expect(messages('tangerine-bicycle-orbit', '')).toEqual([]);
    expect(messages('tangerine-bicycle-orbit', '@example.com')).toEqual([]);
  });
});

describe('assertPasswordPolicy', () => {
  it('passes a good password', () => {
    expect(() => assertPasswordPolicy('tangerine-bicycle-orbit', EMAIL)).not.toThrow();
  });

  it('throws InputError (BAD_USER_INPUT) with every field error', () => {
    let thrown: unknown;
    try {
      assertPasswordPolicy('password', EMAIL);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InputError);
    const error = thrown as InputError;
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.fields).toEqual([
      { field: 'password', message: 'must be at least 10 characters' },
      { field: 'password', message: 'is too common' },
    ]);
    expect(error.message).not.toContain('password123');
  });
});
