import { describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { generate } from 'otplib';
import { eventually } from '@platform/kernel/testing';
import {
  ALICE,
  aliceId,
  authorize,
  Browser,
  createClient,
  issuer,
  ME,
  platform,
  REDIRECT,
  rp,
  useOidcPlatform,
} from './fixtures/oidc-platform.js';
import { errorCode, graphqlAt, register, signIn } from './helpers.js';

/**
 * The OpenID Connect provider as a relying party and its users meet it: discovery, the code flow
 * with PKCE through the sign-in page (passwords, two-factor codes), userinfo and its claims,
 * refresh with rotation, revocation and sign-out; the tokens used at every subgraph through the
 * gateway. Its operation (clients, machine tokens, state, keys): oidc-operations.e2e.test.ts.
 */
useOidcPlatform();

describe('OpenID Connect provider', () => {
  it('publishes a discovery document on the issuer that openid-client accepts', async () => {
    const { clientId, clientSecret } = await createClient({
      name: 'Discovery check',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      scopes: ['email'],
      public: false,
    });
    const config = await rp(clientId, clientSecret);
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.authorization_endpoint).toBe(`${issuer}/oidc/auth`);
    expect(metadata.token_endpoint).toBe(`${issuer}/oidc/token`);
    expect(metadata.userinfo_endpoint).toBe(`${issuer}/oidc/me`);
    expect(metadata.jwks_uri).toBe(`${issuer}/.well-known/jwks.json`);
    expect(metadata.revocation_endpoint).toBe(`${issuer}/oidc/token/revocation`);
    expect(metadata.introspection_endpoint).toBe(`${issuer}/oidc/token/introspection`);
    expect(metadata.end_session_endpoint).toBe(`${issuer}/oidc/session/end`);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.id_token_signing_alg_values_supported).toEqual(['EdDSA']);
    expect(metadata.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']),
    );
    // The JWKS it names is the platform's, on the same origin.
    const jwks = (await (await fetch(metadata.jwks_uri!)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.length).toBeGreaterThan(0);
  });

  it('signs a user in with code + PKCE; tokens work at userinfo, at every subgraph, refresh with rotation, and a reused refresh token ends the grant', async () => {
    const { clientId, clientSecret } = await createClient({
      name: 'Alice’s app',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['email', 'profile', 'offline_access'],
      public: false,
    });
    expect(clientSecret).toEqual(expect.any(String));
    const config = await rp(clientId, clientSecret);
    const browser = new Browser();
    const tokens = await authorize(config, browser, ALICE);

    expect(tokens.claims()?.sub).toBe(aliceId);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, aliceId);
    expect(userinfo).toMatchObject({ sub: aliceId, email: ALICE.email, email_verified: false, name: 'Alice' });

    // The access token is the platform's: the gateway and its subgraphs accept it.
    const me = await graphqlAt<{ me: { id: string } }>(platform.gateway.url, ME, {}, tokens.access_token);
    expect(me.data?.me.id).toBe(aliceId);

    // Refresh rotates the refresh token; the new access token works too.
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).toEqual(expect.any(String));
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    const again = await graphqlAt<{ me: { id: string } }>(platform.gateway.url, ME, {}, refreshed.access_token);
    expect(again.data?.me.id).toBe(aliceId);

    // Presenting the replaced refresh token again: someone has a copy. The grant and its session end.
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await eventually(async () => {
      const refused = await graphqlAt(platform.gateway.url, ME, {}, refreshed.access_token);
      expect(errorCode(refused)).toBe('UNAUTHENTICATED');
    });
  }, 60_000);

  it("puts the user's permissions in userinfo under the permissions scope, as every subgraph sees them", async () => {
    const { clientId, clientSecret } = await createClient({
      name: 'Permission-aware app',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      scopes: ['permissions'],
      public: false,
    });
    const config = await rp(clientId, clientSecret);
    expect(config.serverMetadata().scopes_supported).toContain('permissions');
    const tokens = await authorize(config, new Browser(), ALICE, 'openid permissions');
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, aliceId);
    const own = await graphqlAt<{ me: { permissions: string[] } }>(
      platform.gateway.url,
      `{ me { permissions } }`,
      {},
      tokens.access_token,
    );
    expect(own.data?.me.permissions.length).toBeGreaterThan(0);
    expect(userinfo.permissions).toEqual([...own.data!.me.permissions].sort());
    // Nothing the scope did not ask for.
    expect(userinfo.email).toBeUndefined();
  }, 60_000);

  it('revokes: introspection sees the refresh token, revocation ends it and the access tokens of its grant', async () => {
    const { clientId, clientSecret } = await createClient({
      name: 'Revocation check',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['email', 'offline_access'],
      public: false,
    });
    const config = await rp(clientId, clientSecret);
    const browser = new Browser();
    const tokens = await authorize(config, browser, ALICE, 'openid email offline_access');

    const live = await oidc.tokenIntrospection(config, tokens.refresh_token!);
    expect(live).toMatchObject({ active: true, sub: aliceId, client_id: clientId });

    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect(await oidc.tokenIntrospection(config, tokens.refresh_token!)).toMatchObject({ active: false });
    await expect(oidc.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await eventually(async () => {
      const refused = await graphqlAt(platform.gateway.url, ME, {}, tokens.access_token);
      expect(errorCode(refused)).toBe('UNAUTHENTICATED');
    });

    // Still signed in at the provider: the next authorization asks only for consent.
    const next = await authorize(config, browser, undefined, 'openid email offline_access');
    expect(next.claims()?.sub).toBe(aliceId);
    const me = await graphqlAt<{ me: { id: string } }>(platform.gateway.url, ME, {}, next.access_token);
    expect(me.data?.me.id).toBe(aliceId);
  }, 60_000);

  it('ends the session at end-session: the grant and its access tokens end', async () => {
    const { clientId, clientSecret } = await createClient({
      name: 'Sign-out check',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      scopes: ['email'],
      public: false,
    });
    const config = await rp(clientId, clientSecret);
    const browser = new Browser();
    const tokens = await authorize(config, browser, ALICE, 'openid email');
    expect((await graphqlAt(platform.gateway.url, ME, {}, tokens.access_token)).errors).toBeUndefined();

    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token!,
      post_logout_redirect_uri: REDIRECT,
      state: 'bye',
    });
    const confirm = await browser.follow(end.href);
    expect(confirm.page?.html).toContain('Yes, sign me out');
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/.exec(confirm.page!.html)!;
    const body = new URLSearchParams({ logout: 'yes' });
    for (const [, name, value] of form[2]!.matchAll(/name="([^"]+)" value="([^"]*)"/g)) body.set(name!, value!);
    const done = await browser.follow(new URL(form[1]!, confirm.page!.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(done.to).toBe(`${REDIRECT}?state=bye`);
    await eventually(async () => {
      expect(errorCode(await graphqlAt(platform.gateway.url, ME, {}, tokens.access_token))).toBe('UNAUTHENTICATED');
    });
    // Signed out at the provider: the next authorization asks for the password again.
    const again = await browser.follow(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid',
        state: 'again',
      }).href,
    );
    expect(again.page?.html).toContain('<label for="password">');
  }, 60_000);

  it('refuses a wrong password on the sign-in page without saying which part was wrong', async () => {
    const { clientId, clientSecret } = await createClient({
      name: 'Wrong password',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      scopes: [],
      public: false,
    });
    const config = await rp(clientId, clientSecret);
    const browser = new Browser();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      state: oidc.randomState(),
    });
    const first = await browser.follow(url.href);
    expect(first.page?.html).toContain('<label for="password">Password</label>');
    // No script may run; the form posts here, and the browser then goes to the client.
    expect(first.page?.headers.get('content-security-policy')).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:9; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(first.page?.headers.get('cache-control')).toBe('no-store');
    expect(first.page?.html).toContain('Wrong password');
    const refused = await browser.submit(first.page!, '/login', { email: ALICE.email, password: 'not the password' });
    expect(refused.page?.status).toBe(401);
    expect(refused.page?.html).toContain('role="alert"');
    expect(refused.page?.html).toContain('The email or password is wrong.');
    // A form without its CSRF token is refused.
    const forged = await browser.follow(new URL(first.page!.url.replace(/\/?$/, '/login')).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: ALICE.email, password: ALICE.password }),
    });
    expect(forged.page?.status).toBe(403);
  }, 60_000);

  it('asks for the authentication code of a user with two-factor sign-in', async () => {
    const user = { email: 'second-factor@example.com', password: 'a passphrase and a code', displayName: 'Bo' };
    await register(platform, user);
    const { accessToken, id } = await signIn(platform, user.email, user.password);
    const enrolled = await graphqlAt<{ enrollTotp: { secret: string } }>(
      platform.gateway.url,
      `mutation { enrollTotp { secret } }`,
      {},
      accessToken,
    );
    const { secret } = enrolled.data!.enrollTotp;
    const step = Math.floor(Date.now() / 30_000);
    const confirmed = await graphqlAt(
      platform.gateway.url,
      `mutation ($code: String!) { confirmTotp(code: $code) { recoveryCodes } }`,
      { code: await generate({ secret, epoch: step * 30 }) },
      accessToken,
    );
    expect(confirmed.errors).toBeUndefined();

    const { clientId, clientSecret } = await createClient({
      name: 'Two factors',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      scopes: ['email'],
      public: false,
    });
    const config = await rp(clientId, clientSecret);
    const browser = new Browser();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'two-factor',
    });
    const first = await browser.follow(url.href);
    expect(first.page?.html).toContain('<label for="totp">Authentication code</label>');
    const asked = await browser.submit(first.page!, '/login', { email: user.email, password: user.password });
    expect(asked.page?.status).toBe(401);
    expect(asked.page?.html).toContain('Enter the authentication code to continue.');
    expect(asked.page?.html).toMatch(/name="totp"[^>]*required/);
    const done = await browser.submit(asked.page!, '/login', {
      email: user.email,
      password: user.password,
      totp: await generate({ secret, epoch: (step + 1) * 30 }),
    });
    expect(done.to).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?code=/);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(done.to!), {
      pkceCodeVerifier: verifier,
      expectedState: 'two-factor',
    });
    expect(tokens.claims()?.sub).toBe(id);
  }, 60_000);

  it('requires PKCE (S256) of public clients', async () => {
    const { clientId, clientSecret } = await createClient({
      name: 'Single-page app',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: ['email'],
      public: true,
    });
    expect(clientSecret).toBeNull();
    const config = await rp(clientId, null);
    const without = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: 's' });
    const refused = await new Browser().follow(without.href);
    expect(refused.to).toContain('error=invalid_request');
    const tokens = await authorize(config, new Browser(), ALICE, 'openid email');
    expect(tokens.claims()?.sub).toBe(aliceId);
  }, 60_000);
});
