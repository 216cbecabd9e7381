/**
 * Every string the provider's pages show, by language: a translation adds one entry with the
 * same keys (the type checks it has them all). The page's language is the first of the browser's
 * `Accept-Language` that has an entry, else English.
 */
const en = {
  lang: 'en',
  signInTitle: 'Sign in',
  signInLead: '{client} wants to sign you in.',
  email: 'Email',
  password: 'Password',
  totp: 'Authentication code',
  totpHint: 'The 6-digit code from your authenticator app, or a recovery code.',
  signIn: 'Sign in and continue',
  consentTitle: 'Allow access',
  consentLead: '{client} asks for:',
  allow: 'Allow',
  deny: 'Cancel',
  badCredentials: 'The email or password is wrong.',
  badCode: 'The authentication code is wrong.',
  codeRequired: 'Enter the authentication code to continue.',
  throttled: 'Too many attempts. Try again in {seconds} seconds.',
  expired: 'This sign-in took too long. Go back to the application and start again.',
  errorTitle: 'Sign-in failed',
  logoutTitle: 'Sign out',
  logoutLead: 'Do you want to sign out?',
  logoutYes: 'Yes, sign me out',
  logoutNo: 'No, stay signed in',
  loggedOut: 'You are signed out.',
  scope_openid: 'Your identity (an identifier for your account)',
  scope_email: 'Your email address',
  scope_profile: 'Your name',
  scope_offline_access: 'Access while you are away (it stays signed in)',
  scope_permissions: 'What you may do here (your permissions)',
  apiAccess: 'To act as you in the API, with your permissions',
};

export type OidcStrings = typeof en;

export const OIDC_STRINGS: Record<string, OidcStrings> = { en };

/** The strings for a request's `Accept-Language`. */
export function stringsFor(acceptLanguage: string | undefined): OidcStrings {
  for (const part of (acceptLanguage ?? '').split(',')) {
    const tag = part.split(';')[0]!.trim().toLowerCase();
    const found = OIDC_STRINGS[tag] ?? OIDC_STRINGS[tag.split('-')[0]!];
    if (found) return found;
  }
  return en;
}

/** `text` with `{name}` replaced by `values.name`. */
export function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}
