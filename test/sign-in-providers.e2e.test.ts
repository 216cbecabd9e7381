import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generate } from 'otplib';
import identity from '@platform/identity';
import { eventually, freePort } from '@platform/kernel/testing';
import { ExternalOidcProvider, type ExternalAccount } from './fixtures/external-oidc-provider.js';
import { HttpBrowser } from './fixtures/http-browser.js';
import { errorCode, graphqlAt, register, signIn, startTestPlatform, type TestPlatform } from './helpers.js';

/**
 * Signing in with an external OpenID Connect provider, end to end: a second oidc-provider
 * instance plays the company's identity provider, a cookie-keeping fetch plays the browser from
 * the app through the provider and identity's callback (on the gateway's origin) back to the app,
 * and the app completes the sign-in through the gateway.
 */
const APP = 'http://127.0.0.1:9';
const ADMIN = { email: 'root@example.com', password: 'root passphrase for tests' };

let platform: TestPlatform;
let issuer: string;
const external = new ExternalOidcProvider();

const START = `mutation ($provider: ID!, $returnTo: String!) {
  signInWithProvider(provider: $provider, returnTo: $returnTo) { authorizationUrl binding expiresAt }
}`;
const COMPLETE = `mutation ($binding: String!, $code: String!, $totp: String) {
  completeProviderSignIn(binding: $binding, code: $code, totp: $totp) { accessToken refreshToken user { id email } }
}`;
const ME = `{ me { id email emailVerified displayName roles { name } } }`;

interface Me {
  id: string;
  email: string;
  emailVerified: boolean;
  displayName: string | null;
  roles: Array<{ name: string }>;
}

const gql = <T>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
  graphqlAt<T>(platform.gateway.url, query, variables, token);

/** The app starts a sign-in with Acme; the browser goes through Acme and comes back: the URL it lands on and the binding. */
async function throughProvider(account: ExternalAccount, returnTo = `${APP}/signed-in`) {
  external.signsIn = account;
  const started = await gql<{ signInWithProvider: { authorizationUrl: string; binding: string } }>(START, {
    provider: 'acme',
    returnTo,
  });
  expect(started.errors).toBeUndefined();
  const { authorizationUrl, binding } = started.data!.signInWithProvider;
  expect(authorizationUrl.startsWith(`${external.issuer}/`)).toBe(true);
  const browser = new HttpBrowser((url) => url.startsWith(external.issuer) || url.startsWith(issuer));
  const landed = await browser.follow(authorizationUrl);
  expect(landed.page).toBeUndefined();
  return { landed: new URL(landed.to!), binding };
}

/** A whole sign-in as `account`: the tokens (or the error) `completeProviderSignIn` answers. */
async function signInAs(account: ExternalAccount, totp?: string) {
  const { landed, binding } = await throughProvider(account);
  expect(landed.searchParams.get('sign_in_error')).toBeNull();
  const code = landed.searchParams.get('sign_in_code')!;
  const body = await gql<{ completeProviderSignIn: { accessToken: string; user: { id: string } } }>(COMPLETE, {
    binding,
    code,
    ...(totp ? { totp } : {}),
  });
  return { body, binding, code };
}

async function me(token: string): Promise<Me> {
  const body = await gql<{ me: Me }>(ME, {}, token);
  expect(body.errors).toBeUndefined();
  return body.data!.me;
}

async function outbox(topic: string, userId: string): Promise<Array<Record<string, unknown>>> {
  const db = platform.subgraphs.identity!.runtime.db;
  const rows = await db
    .fork()
    .execute<Array<{ payload: Record<string, unknown> }>>(
      `select payload from "${db.schema}".outbox where topic = ? and payload->>'userId' = ? order by seq`,
      [topic, userId],
    );
  return rows.map((row) => row.payload);
}

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  await external.start(`${issuer}/oidc/broker/acme/callback`);
  platform = await startTestPlatform({
    gateway: { port },
    auth: { issuer },
    modules: {
      identity: {
        appUrl: APP,
        seedAdmin: ADMIN,
        signInProviders: {
          acme: {
            name: 'Acme SSO',
            issuer: external.issuer,
            clientId: external.clientId,
            clientSecret: external.clientSecret,
            scopes: ['openid', 'email', 'profile', 'groups'],
            roles: { claim: 'groups', map: { 'acme-admins': ['admin'] } },
          },
        },
      },
    },
  });
  const handle = platform.subgraphs.identity!;
  await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  await external.stop();
});

describe('sign-in with an external OpenID Connect provider', () => {
  it('lists the providers to anyone', async () => {
    const body = await gql<{ signInProviders: unknown }>(`{ signInProviders { id name } }`);
    expect(body.errors).toBeUndefined();
    expect(body.data!.signInProviders).toEqual([{ id: 'acme', name: 'Acme SSO' }]);
  });

  it("creates the account of someone Acme vouches for, with the roles Acme's groups give, and takes them back when the groups change", async () => {
    const account = {
      sub: 'acme-1001',
      email: 'Grace@Example.com',
      email_verified: true,
      name: 'Grace Hopper',
      groups: ['acme-admins', 'acme-staff'],
    };
    const { body, binding, code } = await signInAs(account);
    expect(body.errors).toBeUndefined();
    const { accessToken, user } = body.data!.completeProviderSignIn;
    const profile = await me(accessToken);
    expect(profile).toMatchObject({ email: 'grace@example.com', emailVerified: true, displayName: 'Grace Hopper' });
    // authz hears of the roles from identity's event: they arrive just after.
    await eventually(async () =>
      expect((await me(accessToken)).roles.map((r) => r.name).sort()).toEqual(['admin', 'user']),
    );
    expect(await outbox('identity.user.created', user.id)).toEqual([
      expect.objectContaining({ via: 'provider', email: 'grace@example.com' }),
    ]);
    expect(await outbox('identity.provider.linked', user.id)).toEqual([
      expect.objectContaining({ provider: 'acme', created: true, adopted: false }),
    ]);
    expect(await outbox('identity.login.succeeded', user.id)).toEqual([expect.objectContaining({ provider: 'acme' })]);

    // The code was for one completion.
    const again = await gql(COMPLETE, { binding, code });
    expect(errorCode(again)).toBe('UNAUTHENTICATED');

    // Signing in again finds the same account by Acme's subject, whatever the email says now;
    // without the group, the role Acme gave goes (the one every user has stays).
    const second = await signInAs({ ...account, email: 'grace.renamed@example.com', groups: ['acme-staff'] });
    expect(second.body.errors).toBeUndefined();
    expect(second.body.data!.completeProviderSignIn.user.id).toBe(user.id);
    await eventually(async () => expect((await me(accessToken)).roles.map((r) => r.name)).toEqual(['user']));
    // An account with no password: signing in with one is refused like a wrong password.
    const login = await gql(
      `mutation { login(email: "grace@example.com", password: "anything at all") { accessToken } }`,
    );
    expect(errorCode(login)).toBe('UNAUTHENTICATED');
  }, 60_000);

  it("completes only in the client that started the sign-in: someone else's code with another binding signs nobody in", async () => {
    const victim = await throughProvider({ sub: 'acme-1002', email: 'linus@example.com', email_verified: true });
    const attacker = await throughProvider({ sub: 'acme-6666', email: 'mallory@example.com', email_verified: true });
    const crossed = await gql(COMPLETE, {
      binding: victim.binding,
      code: attacker.landed.searchParams.get('sign_in_code'),
    });
    expect(errorCode(crossed)).toBe('UNAUTHENTICATED');
    const own = await gql<{ completeProviderSignIn: { user: { email: string } } }>(COMPLETE, {
      binding: victim.binding,
      code: victim.landed.searchParams.get('sign_in_code'),
    });
    expect(own.data?.completeProviderSignIn.user.email).toBe('linus@example.com');
  }, 60_000);

  it('joins the account with the verified email; an unverified one is taken over from whoever registered it', async () => {
    const admin = await signIn(platform, ADMIN.email, ADMIN.password);
    const joined = await signInAs({ sub: 'acme-root', email: ADMIN.email, email_verified: true });
    expect(joined.body.data?.completeProviderSignIn.user.id).toBe(admin.id);
    // The password still works for a verified account that was joined.
    await signIn(platform, ADMIN.email, ADMIN.password);

    // Someone registered bob@ before Bob: it was never verified. Bob's sign-in through Acme gets
    // the account, and the registrant's password, sessions and keys stop working.
    const squatter = { email: 'bob@example.com', password: 'squatter passphrase here' };
    await register(platform, squatter);
    const squatterSession = await signIn(platform, squatter.email, squatter.password);
    const bob = await signInAs({ sub: 'acme-bob', email: 'bob@example.com', email_verified: true });
    expect(bob.body.errors).toBeUndefined();
    expect(bob.body.data!.completeProviderSignIn.user.id).toBe(squatterSession.id);
    const login = await gql(`mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
      e: squatter.email,
      p: squatter.password,
    });
    expect(errorCode(login)).toBe('UNAUTHENTICATED');
    await eventually(async () =>
      expect(errorCode(await gql(`{ me { id } }`, {}, squatterSession.accessToken))).toBe('UNAUTHENTICATED'),
    );
    expect(await outbox('identity.provider.linked', squatterSession.id)).toEqual([
      expect.objectContaining({ provider: 'acme', created: false, adopted: true }),
    ]);
  }, 60_000);

  it('asks for the second factor of an account that has one', async () => {
    const account = { sub: 'acme-ada', email: 'ada@example.com', email_verified: true };
    const first = await signInAs(account);
    const token = first.body.data!.completeProviderSignIn.accessToken;
    const enrolled = await gql<{ enrollTotp: { secret: string } }>(`mutation { enrollTotp { secret } }`, {}, token);
    const confirmed = await gql<{ confirmTotp: { recoveryCodes: string[] } }>(
      `mutation ($code: String!) { confirmTotp(code: $code) { recoveryCodes } }`,
      { code: await generate({ secret: enrolled.data!.enrollTotp.secret }) },
      token,
    );
    expect(confirmed.errors).toBeUndefined();

    const { body, binding, code } = await signInAs(account);
    expect(errorCode(body)).toBe('MFA_REQUIRED');
    const wrong = await gql(COMPLETE, { binding, code, totp: '000000' });
    expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
    const done = await gql<{ completeProviderSignIn: { user: { id: string; email: string } } }>(COMPLETE, {
      binding,
      code,
      totp: confirmed.data!.confirmTotp.recoveryCodes[0],
    });
    expect(done.errors).toBeUndefined();
    expect(done.data!.completeProviderSignIn.user.email).toBe('ada@example.com');

    // Deleting the account ends its credentials: the second factor and the link to Acme go too.
    const adaId = done.data!.completeProviderSignIn.user.id;
    const admin = await signIn(platform, ADMIN.email, ADMIN.password);
    const deleted = await gql(`mutation ($id: ID!) { deleteUser(id: $id) }`, { id: adaId }, admin.accessToken);
    expect(deleted.errors).toBeUndefined();
    const db = platform.subgraphs.identity!.runtime.db;
    const left = await db.fork().execute<Array<{ rows: string }>>(
      `select (select count(*) from "${db.schema}".totp_credential where user_id = ?)
            + (select count(*) from "${db.schema}".recovery_code where user_id = ?)
            + (select count(*) from "${db.schema}".external_identity where user_id = ?) as rows`,
      [adaId, adaId, adaId],
    );
    expect(Number(left[0]!.rows)).toBe(0);
  }, 60_000);

  it('sends the browser back with the reason when no account can be had, and refuses what it cannot start', async () => {
    const unverified = await throughProvider({ sub: 'acme-x', email: 'eve@example.com', email_verified: false });
    expect(unverified.landed.origin + unverified.landed.pathname).toBe(`${APP}/signed-in`);
    expect(unverified.landed.searchParams.get('sign_in_error')).toBe('email_not_verified');

    external.refuses = true;
    try {
      const denied = await throughProvider({ sub: 'acme-y', email: 'y@example.com', email_verified: true });
      expect(denied.landed.searchParams.get('sign_in_error')).toBe('access_denied');
    } finally {
      external.refuses = false;
    }

    const elsewhere = await gql(START, { provider: 'acme', returnTo: 'https://attacker.example/steal' });
    expect(errorCode(elsewhere)).toBe('BAD_USER_INPUT');
    const unknown = await gql(START, { provider: 'nobody', returnTo: `${APP}/x` });
    expect(errorCode(unknown)).toBe('NOT_FOUND');

    // A callback for no sign-in under way is a page, not a redirect.
    const stray = await fetch(`${issuer}/oidc/broker/acme/callback?code=x&state=forged`, { redirect: 'manual' });
    expect(stray.status).toBe(400);
    expect(stray.headers.get('content-type')).toMatch(/text\/html/);
  }, 60_000);
});
