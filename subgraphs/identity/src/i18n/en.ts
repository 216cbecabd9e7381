import type { Catalog } from '@platform/kernel';

/**
 * identity's texts in English (namespace `identity`): what it answered before it spoke other
 * languages, byte for byte. Every other language has these keys (test/i18n-catalogs.test.ts).
 */
export const en = {
  token: { invalid: 'is invalid, expired or already used' },
  email: {
    required: 'is required',
    tooLong: 'must be at most 320 characters',
    invalid: 'is not a valid email address',
    notValid: 'The email is not valid',
    taken: 'An account with this email already exists',
  },
  text: {
    atMost100: 'must be at most 100 characters',
    controlCharacters: 'must not contain control characters',
  },
  registration: { invalid: 'Registration input is invalid' },
  password: {
    notAcceptable: 'The new password is not acceptable',
    notCurrent: 'is not your current password',
    sameAsCurrent: 'must differ from the current one',
    problems: 'password {{problems}}',
    tooLong: 'must be at most {{max}} characters',
    tooShort: 'must be at least {{min}} characters',
    containsEmail: 'must not contain your email address',
    isEmail: 'must not be your email address',
    tooCommon: 'is too common',
    tooFewDistinct: 'uses too few different characters',
    guessable: 'is too easy to guess',
    /** `why` is zxcvbn's explanation, which it has in English only. */
    guessableWhy: 'is too easy to guess ({{why}})',
  },
  login: {
    badCredentials: 'Invalid email or password',
    badSecondFactor: 'Invalid or already used two-factor code',
    badRefreshToken: 'Invalid or expired refresh token',
  },
  locale: { unsupported: 'must be one of {{locales}}' },
  organization: {
    name: 'must be 1 to 100 characters',
    slug: 'must be 2 to 63 lower-case letters, digits and single hyphens inside',
    slugTaken: 'The slug {{slug}} is taken',
    tooMany: 'You may create at most {{max}} organizations',
    full: 'An organization has at most {{max}} members and invitations',
    email: 'must be an email address',
    alreadyMember: 'That user is already a member',
    youAreMember: 'You are already a member',
    verifyFirst: 'Verify your email address before accepting an invitation',
    ownersInvite: 'Only owners may invite owners',
    ownersRemove: 'Only owners may remove owners',
    ownersMake: 'Only owners may make or unmake owners',
    keepOwner: 'An organization keeps at least one owner: make another member owner first',
    managers: "Only the organization's owners and administrators manage its members",
    notMember: 'You are not a member of that organization',
  },
  mail: {
    greeting: 'Hi {{name}},',
    greetingNoName: 'Hi,',
    signature: '— The {{product}} team',
    copyLink: 'Or copy this address into your browser:',
    hours_one: '{{count}} hour',
    hours_other: '{{count}} hours',
    minutes_one: '{{count}} minute',
    minutes_other: '{{count}} minutes',
    verification: {
      subject: 'Verify your email address for {{product}}',
      body: 'Please confirm that this is your email address by opening the link below.',
      link: 'Verify email address',
      expires: 'The link expires in {{expiry}}.',
      ignore: 'If you did not create a {{product}} account, you can ignore this email.',
    },
    passwordReset: {
      subject: 'Reset your {{product}} password',
      body: 'Someone asked to reset the password of your {{product}} account. To choose a new one, open the link below.',
      link: 'Reset password',
      expires: 'The link expires in {{expiry}} and works once.',
      ignore: 'If you did not ask for this, ignore this email: your password stays as it is.',
    },
    registrationAttempt: {
      subject: 'Someone tried to register with your email address at {{product}}',
      body: 'Someone tried to create a new {{product}} account with this email address. You already have an account, so no new one was made and nothing was changed.',
      hint: 'If it was you, sign in with your password. If you forgot it, ask for a reset link here:',
      link: 'Reset your password',
      ignore: 'If it was not you, you can ignore this email: your account stays as it is.',
    },
    passwordChanged: {
      subject: 'Your {{product}} password was changed',
      body: 'The password of your {{product}} account was changed on {{when}}.',
      nothingToDo: 'If this was you, there is nothing to do.',
      notYou: 'If it was not you, reset your password right away with "Forgot password" and {{support}}.',
      contactSupport: 'contact support',
      contactSupportAt: 'contact support at {{email}}',
    },
  },
} satisfies Catalog;

/** A catalog with English's keys, for the other languages: the compiler names a missing one too. */
export type IdentityCatalog = { [K in keyof typeof en]: Shape<(typeof en)[K]> };
type Shape<T> = T extends string ? string : { [K in keyof T]: Shape<T[K]> };
