/**
 * Messages in the caller's language, through the gateway as a frontend calls it: errors follow
 * `Accept-Language` (the gateway passes it on to subgraphs) with their codes unchanged and English
 * by default; mails follow the recipient's saved locale, else the language of the request that
 * caused them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { extractLinkToken, waitForMail } from '@platform/kernel/testing';
import { startTestPlatform, type GraphQLBody, type TestPlatform } from './helpers.js';

let platform: TestPlatform;

async function gql<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLBody<T>> {
  const response = await platform.graphql({ query, variables }, headers);
  return (await response.json()) as GraphQLBody<T>;
}

const GERMAN = { 'accept-language': 'de-AT,de;q=0.9,en;q=0.5' };
const REGISTER = `mutation ($input: RegisterInput!) { register(input: $input) { id } }`;
const LOGIN = `mutation ($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }`;
/** Only for signed-in callers: refused by identity's rules, relayed by the gateway. */
const SIGNED_IN_ONLY = `mutation { changePassword(currentPassword: "a", newPassword: "b") }`;

const outboxDir = (): string => join(platform.subgraphs.identity!.runtime.platform.dataDir, 'mail');
const mailed = (to: string, count = 1) => waitForMail(outboxDir(), to, { count });

async function signedUp(email: string, password: string, headers: Record<string, string> = {}): Promise<string> {
  const registered = await gql(REGISTER, { input: { email, password } }, headers);
  expect(registered.errors).toBeUndefined();
  const verify = await gql(`mutation ($token: String!) { verifyEmail(token: $token) { emailVerified } }`, {
    token: extractLinkToken((await mailed(email)).text),
  });
  expect(verify.errors).toBeUndefined();
  const login = await gql<{ login: { accessToken: string } }>(LOGIN, { email, password });
  expect(login.errors).toBeUndefined();
  return login.data!.login.accessToken;
}

beforeAll(async () => {
  platform = await startTestPlatform();
}, 90_000);

afterAll(async () => {
  await platform?.stop();
});

describe('errors in the caller’s language', () => {
  it('answers a subgraph’s error in German for Accept-Language: de, in English by default, code unchanged', async () => {
    const german = await gql(SIGNED_IN_ONLY, {}, GERMAN);
    const english = await gql(SIGNED_IN_ONLY);
    const unsupported = await gql(SIGNED_IN_ONLY, {}, { 'accept-language': 'fr-FR, it' });
    expect(german.errors![0]).toMatchObject({
      message: 'Melde dich an, um das zu tun',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(english.errors![0]).toMatchObject({
      message: 'Sign in to do this',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    expect(unsupported.errors![0]!.message).toBe('Sign in to do this');
  });

  it('answers a refused login in German with the same code (an account locked by wrong passwords)', async () => {
    const email = `gesperrt-${Date.now()}@example.com`;
    const password = 'a fine German passphrase';
    expect((await gql(REGISTER, { input: { email, password } })).errors).toBeUndefined();
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const refused = await gql(LOGIN, { email, password: `wrong passphrase ${attempt}` }, GERMAN);
      expect(refused.errors![0]).toMatchObject({
        message: 'E-Mail-Adresse oder Passwort ist falsch',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    }
    const locked = await gql(LOGIN, { email, password }, GERMAN);
    expect(locked.errors![0]).toMatchObject({
      message: 'Zu viele Versuche, versuche es später noch einmal',
      extensions: { code: 'RATE_LIMITED', retryAfter: expect.any(Number) },
    });
    const english = await gql(LOGIN, { email, password });
    expect(english.errors![0]).toMatchObject({
      message: 'Too many attempts, try again later',
      extensions: { code: 'RATE_LIMITED' },
    });
  });

  it('answers a validation error’s field messages in German, English ones byte for byte unchanged', async () => {
    const input = { email: 'not-an-address', password: 'short' };
    const german = await gql(REGISTER, { input }, GERMAN);
    expect(german.data ?? null).toBeNull();
    expect(german.errors![0]).toMatchObject({
      message: 'Die Angaben zur Registrierung sind ungültig',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(german.errors![0]!.extensions!.fields).toEqual([
      { field: 'email', message: 'ist keine gültige E-Mail-Adresse' },
      { field: 'password', message: 'muss mindestens 12 Zeichen lang sein' },
      { field: 'password', message: 'ist zu verbreitet' },
    ]);
    const english = await gql(REGISTER, { input });
    expect(english.errors![0]).toMatchObject({
      message: 'Registration input is invalid',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(english.errors![0]!.extensions!.fields).toEqual([
      { field: 'email', message: 'is not a valid email address' },
      { field: 'password', message: 'must be at least 12 characters' },
      { field: 'password', message: 'is too common' },
    ]);
  });

  it('answers a bad link token and a wrong current password in German', async () => {
    const token = await gql(`mutation { verifyEmail(token: "nope") { emailVerified } }`, {}, GERMAN);
    expect(token.errors![0]).toMatchObject({
      message: 'token: ist ungültig, abgelaufen oder schon benutzt',
      extensions: {
        code: 'BAD_USER_INPUT',
        fields: [{ field: 'token', message: 'ist ungültig, abgelaufen oder schon benutzt' }],
      },
    });
    const email = `passwort-${Date.now()}@example.com`;
    const accessToken = await signedUp(email, 'the current passphrase');
    const changed = await gql(
      `mutation { changePassword(currentPassword: "not the current one", newPassword: "a brand new passphrase") }`,
      {},
      { ...GERMAN, authorization: `Bearer ${accessToken}` },
    );
    expect(changed.errors![0]).toMatchObject({
      message: 'currentPassword: ist nicht dein aktuelles Passwort',
      extensions: { code: 'BAD_USER_INPUT' },
    });
  });
});

describe('mails in the recipient’s language', () => {
  it('writes the verification mail in the language of the request that registered', async () => {
    const email = `anmeldung-${Date.now()}@example.com`;
    expect(
      (await gql(REGISTER, { input: { email, password: 'registering in German' } }, GERMAN)).errors,
    ).toBeUndefined();
    const mail = await mailed(email);
    expect(mail.subject).toBe('Bestätige deine E-Mail-Adresse für Platform');
    expect(mail.text).toMatch(/^Hallo,\n\nBitte bestätige/);
    expect(mail.text).toMatch(/Der Link ist \d+ Stunden? lang gültig\./);
  });

  it('writes the password reset in the saved locale whatever the request asks, and refuses an unsupported one', async () => {
    const email = `gespeichert-${Date.now()}@example.com`;
    const accessToken = await signedUp(email, 'saved locale passphrase');
    const auth = { authorization: `Bearer ${accessToken}` };
    const PROFILE = `mutation ($input: UpdateProfileInput!) { updateProfile(input: $input) { locale } }`;

    const refused = await gql(PROFILE, { input: { locale: 'fr' } }, { ...auth, ...GERMAN });
    expect(refused.errors![0]).toMatchObject({
      message: 'locale: muss eine von en, de sein',
      extensions: { code: 'BAD_USER_INPUT', fields: [{ field: 'locale', message: 'muss eine von en, de sein' }] },
    });
    expect(await gql(PROFILE, { input: { locale: 'de' } }, auth)).toEqual({
      data: { updateProfile: { locale: 'de' } },
    });
    expect(await gql(`{ me { locale } }`, {}, auth)).toEqual({ data: { me: { locale: 'de' } } });

    // An English request (no Accept-Language): the mail is German, as the user saved.
    expect(await gql(`mutation ($email: String!) { requestPasswordReset(email: $email) }`, { email })).toEqual({
      data: { requestPasswordReset: true },
    });
    const reset = await mailed(email, 2);
    expect(reset.subject).toBe('Setze dein Passwort für Platform zurück');
    expect(reset.text).toMatch(
      /^Hallo,\n\nJemand hat darum gebeten, das Passwort deines Kontos bei Platform zurückzusetzen/,
    );
    expect(reset.text).toMatch(/Der Link ist \d+ Minuten lang gültig und funktioniert einmal\./);
    expect(reset.html).toContain('<html lang="de">');
    expect(reset.html).toContain('Passwort zurücksetzen</a>');
    expect(extractLinkToken(reset.text)).toBeTruthy();

    // Cleared, the request's language decides again.
    expect(await gql(PROFILE, { input: { locale: null } }, auth)).toEqual({
      data: { updateProfile: { locale: null } },
    });
    await gql(`mutation ($email: String!) { requestPasswordReset(email: $email) }`, { email });
    expect((await mailed(email, 3)).subject).toBe('Reset your Platform password');
  });
});
