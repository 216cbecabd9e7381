import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer as createHttpServer } from 'node:http';
import * as oidc from 'openid-client';
import { generate } from 'otplib';
import identity from '@platform/identity';
import { emitter, type ModuleRuntime } from '@platform/kernel';
import { eventually, freePort } from '@platform/kernel/testing';
import type { IdentityConfig } from '../subgraphs/identity/src/config.js';
import type { IdentityEvents } from '../subgraphs/identity/src/events.js';
import { deleteExpiredOidcPayloads } from '../subgraphs/identity/src/oidc/adapter.js';
import { OidcService } from '../subgraphs/identity/src/oidc/oidc.service.js';
import type { IdentityServices } from '../subgraphs/identity/src/services.js';
import { HttpBrowser } from './fixtures/http-browser.js';
import { errorCode, graphqlAt, register, signIn, startTestPlatform, type TestPlatform } from './helpers.js';

/**
 * The OpenID Connect provider as a relying party meets it: openid-client against the gateway's
 * origin (the issuer), a browser played with fetch and a cookie jar through the server-rendered
 * sign-in page, the tokens it gets used at userinfo and at every subgraph through the gateway.
 */
const ADMIN = { email: 'root@example.com', password: 'root passphrase for tests' };
const ALICE = { email: 'alice@example.com', password: 'alice passphrase for tests', displayName: 'Alice' };
const REDIRECT = 'http://127.0.0.1:9/callback';

let platform: TestPlatform;
let issuer: string;
let adminToken: string;
let aliceId: string;

const CREATE = `mutation ($input: CreateOAuthClientInput!) { createOAuthClient(input: $input) { clientId clientSecret } }`;
const ME = `{ me { id email } }`;

async function createClient(
  input: Record<string, unknown>,
): Promise<{ clientId: string; clientSecret: string | null }> {
  const body = await graphqlAt<{ createOAuthClient: { clientId: string; clientSecret: string | null } }>(
    platform.gateway.url,
    CREATE,
    { input },
    adminToken,
  );
  expect(body.errors).toBeUndefined();
  return body.data!.createOAuthClient;
}

/** A browser that follows redirects within the issuer and stops at the one that leaves for the client. */
class Browser extends HttpBrowser {
  constructor() {
    super((url) => url.startsWith(issuer));
  }
}

async function rp(clientId: string, secret: string | null): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), clientId, {}, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

/** Runs the authorization code flow with PKCE through the sign-in page; the tokens. */
async function authorize(
  config: oidc.Configuration,
  browser: Browser,
  credentials?: typeof ALICE,
  scope = 'openid email profile offline_access',
) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    prompt: 'consent',
    state,
  });
  const first = await browser.follow(url.href);
  expect(first.to).toBeUndefined();
  expect(first.page?.status).toBe(200);
  const done = credentials
    ? await browser.submit(first.page!, '/login', { email: credentials.email, password: credentials.password })
    : await browser.submit(first.page!, '/confirm');
  expect(done.to).toMatch(/^http:\/\/127\.0\.0\.1:9\/callback\?/);
  return oidc.authorizationCodeGrant(config, new URL(done.to!), { pkceCodeVerifier: verifier, expectedState: state });
}

beforeAll(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  platform = await startTestPlatform({
    gateway: { port },
    auth: { issuer },
    modules: { identity: { seedAdmin: ADMIN } },
  });
  const handle = platform.subgraphs.identity!;
  await identity.hooks!.seed!(handle.runtime as never, handle.services as never);
  // authz learns of the administrator from identity's events: the role arrives just after.
  await eventually(async () => {
    adminToken = (await signIn(platform, ADMIN.email, ADMIN.password)).accessToken;
    const clients = await graphqlAt(platform.gateway.url, `{ oauthClients { clientId } }`, {}, adminToken);
    expect(clients.errors).toBeUndefined();
  }, 15_000);
  await register(platform, ALICE);
  aliceId = (await signIn(platform, ALICE.email, ALICE.password)).id;
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

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

  it('keeps its state in the database: a second provider instance redeems codes and detects reuse', async () => {
    // Another identity instance's provider, on its own port, over the same database.
    const identityHandle = platform.subgraphs.identity!;
    const runtime = identityHandle.runtime as ModuleRuntime<IdentityConfig>;
    const services = identityHandle.services as IdentityServices;
    const second = new OidcService({
      issuer,
      audience: runtime.platform.auth.audience,
      accessTokenTtlSec: runtime.platform.auth.accessTokenTtlSec,
      refreshTokenTtlSec: runtime.config.refreshTokenTtlSec,
      keys: services.keys,
      db: { fork: () => runtime.em(), schema: runtime.db.schema },
      sessions: services.sessions,
      emit: emitter<IdentityEvents>(runtime.events),
      logger: runtime.logger,
      clientActor: (clientId) => services.oauthClients.actors.actor(clientId),
    });
    const server = createHttpServer((req, res) => void second.provider.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const secondUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const { clientId, clientSecret } = await createClient({
        name: 'Two instances',
        redirectUris: [REDIRECT],
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['email', 'offline_access'],
        public: false,
      });
      const first = await rp(clientId, clientSecret);
      const atSecond = new oidc.Configuration(
        {
          ...(JSON.parse(JSON.stringify(first.serverMetadata())) as oidc.ServerMetadata),
          token_endpoint: `${secondUrl}/oidc/token`,
        },
        clientId,
        {},
        oidc.ClientSecretBasic(clientSecret!),
      );
      oidc.allowInsecureRequests(atSecond);
      const browser = new Browser();
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(first, {
        redirect_uri: REDIRECT,
        scope: 'openid email offline_access',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        prompt: 'consent',
        state: 'two',
      });
      const page = await browser.follow(url.href);
      const done = await browser.submit(page.page!, '/login', { email: ALICE.email, password: ALICE.password });
      // The code the first instance issued, redeemed at the second.
      const tokens = await oidc.authorizationCodeGrant(atSecond, new URL(done.to!), {
        pkceCodeVerifier: verifier,
        expectedState: 'two',
      });
      expect(tokens.claims()?.sub).toBe(aliceId);
      // What both instances read: the grant and its refresh token are rows of identity's database.
      const stored = () =>
        runtime.db
          .fork()
          .execute<Array<{ model: string }>>(
            `select "model" from "${runtime.db.schema}"."oidc_payload" where "payload"->>'clientId' = ? order by "model"`,
            [clientId],
          );
      expect((await stored()).map((row) => row.model)).toEqual(
        expect.arrayContaining(['AuthorizationCode', 'Grant', 'RefreshToken']),
      );
      // Refreshed at the first; the replaced token presented at the second is a reuse.
      const refreshed = await oidc.refreshTokenGrant(first, tokens.refresh_token!);
      await expect(oidc.refreshTokenGrant(atSecond, tokens.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      await expect(oidc.refreshTokenGrant(first, refreshed.refresh_token!)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      expect((await stored()).map((row) => row.model)).not.toContain('RefreshToken');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);

  it('deletes expired provider rows on the credentials schedule, and only those', async () => {
    const runtime = platform.subgraphs.identity!.runtime;
    const table = `"${runtime.db.schema}"."oidc_payload"`;
    const em = runtime.em();
    await em.execute(
      `insert into ${table} ("model", "id", "payload", "expires_at") values
         ('Session', 'expired-one', '{}'::jsonb, now() - interval '1 minute'),
         ('Session', 'live-one', '{}'::jsonb, now() + interval '1 hour')`,
      [],
      'run',
    );
    expect(await deleteExpiredOidcPayloads(runtime.em(), runtime.db.schema)).toBeGreaterThanOrEqual(1);
    const left = await runtime
      .em()
      .execute<Array<{ id: string }>>(`select "id" from ${table} where "id" in ('expired-one', 'live-one')`);
    expect(left.map((row) => row.id)).toEqual(['live-one']);
    // The cookie keys never expire.
    const keys = await runtime
      .em()
      .execute<Array<{ id: string }>>(`select "id" from ${table} where "model" = 'CookieKeys'`);
    expect(keys).toHaveLength(1);
  });

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

  it('issues client_credentials tokens acting as the client’s service account; rotating the secret or deleting the client ends them', async () => {
    const account = await graphqlAt<{ createServiceAccount: { id: string } }>(
      platform.gateway.url,
      `mutation { createServiceAccount(input: { name: "Batch job" }) { id } }`,
      {},
      adminToken,
    );
    expect(account.errors).toBeUndefined();
    const serviceAccountId = account.data!.createServiceAccount.id;
    const { clientId, clientSecret } = await createClient({
      name: 'Batch job',
      redirectUris: [],
      grantTypes: ['client_credentials'],
      scopes: [],
      public: false,
      serviceAccountId,
    });
    const config = await rp(clientId, clientSecret);
    const token = await oidc.clientCredentialsGrant(config);
    // The service account calls the API: the subgraphs accept the token as its own.
    const me = await graphqlAt<{ me: { id: string } }>(platform.gateway.url, `{ me { id } }`, {}, token.access_token);
    expect(me.data?.me.id).toBe(serviceAccountId);

    const rotated = await graphqlAt<{ rotateOAuthClientSecret: { clientSecret: string } }>(
      platform.gateway.url,
      `mutation ($id: String!) { rotateOAuthClientSecret(clientId: $id) { clientSecret } }`,
      { id: clientId },
      adminToken,
    );
    expect(rotated.errors).toBeUndefined();
    const invalidClient = {
      status: 401,
      cause: [expect.objectContaining({ parameters: expect.objectContaining({ error: 'invalid_client' }) })],
    };
    await expect(oidc.clientCredentialsGrant(config)).rejects.toMatchObject(invalidClient);
    // Tokens issued before the rotation stop too.
    await eventually(async () => {
      expect(errorCode(await graphqlAt(platform.gateway.url, `{ me { id } }`, {}, token.access_token))).toBe(
        'UNAUTHENTICATED',
      );
    });
    const fresh = await rp(clientId, rotated.data!.rotateOAuthClientSecret.clientSecret);
    const next = await oidc.clientCredentialsGrant(fresh);
    const again = await graphqlAt<{ me: { id: string } }>(platform.gateway.url, `{ me { id } }`, {}, next.access_token);
    expect(again.data?.me.id).toBe(serviceAccountId);

    const deleted = await graphqlAt(
      platform.gateway.url,
      `mutation ($id: String!) { deleteOAuthClient(clientId: $id) }`,
      { id: clientId },
      adminToken,
    );
    expect(deleted.data).toEqual({ deleteOAuthClient: true });
    await expect(oidc.clientCredentialsGrant(fresh)).rejects.toMatchObject(invalidClient);
    await eventually(async () => {
      expect(errorCode(await graphqlAt(platform.gateway.url, `{ me { id } }`, {}, next.access_token))).toBe(
        'UNAUTHENTICATED',
      );
    });
  }, 60_000);

  it('signs with the current key after a rotation', async () => {
    const { clientId, clientSecret } = await createClient({
      name: 'Rotation check',
      redirectUris: [],
      grantTypes: ['client_credentials'],
      scopes: [],
      public: false,
    });
    const config = await rp(clientId, clientSecret);
    const kidOf = (jwt: string) =>
      (JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    const before = kidOf((await oidc.clientCredentialsGrant(config)).access_token);
    const keys = (platform.subgraphs.identity!.services as { keys: { rotate(o: object): Promise<{ kid: string }> } })
      .keys;
    const { kid } = await keys.rotate({ activateAfterSec: 0 });
    expect(kid).not.toBe(before);
    expect(kidOf((await oidc.clientCredentialsGrant(config)).access_token)).toBe(kid);
  }, 60_000);

  it('manages clients only with the identity.client.* permissions, never showing a secret again', async () => {
    const alice = await signIn(platform, ALICE.email, ALICE.password);
    const refused = await graphqlAt(
      platform.gateway.url,
      CREATE,
      { input: { name: 'x', redirectUris: [REDIRECT], grantTypes: ['authorization_code'], scopes: [], public: true } },
      alice.accessToken,
    );
    expect(errorCode(refused)).toBe('FORBIDDEN');
    const listRefused = await graphqlAt(platform.gateway.url, `{ oauthClients { clientId } }`, {}, alice.accessToken);
    expect(errorCode(listRefused)).toBe('FORBIDDEN');

    const { clientId } = await createClient({
      name: 'Listed',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code'],
      scopes: ['profile'],
      public: false,
    });
    const updated = await graphqlAt<{ updateOAuthClient: { name: string; scopes: string[] } }>(
      platform.gateway.url,
      `mutation ($id: String!) { updateOAuthClient(clientId: $id, input: { name: "Renamed", scopes: ["email"] }) { name scopes } }`,
      { id: clientId },
      adminToken,
    );
    expect(updated.data?.updateOAuthClient).toEqual({ name: 'Renamed', scopes: ['email'] });
    const list = await graphqlAt<{ oauthClients: Array<{ clientId: string; name: string; public: boolean }> }>(
      platform.gateway.url,
      `{ oauthClients { clientId name public redirectUris grantTypes } }`,
      {},
      adminToken,
    );
    expect(list.data?.oauthClients).toContainEqual(
      expect.objectContaining({ clientId, name: 'Renamed', public: false }),
    );

    const invalid = await graphqlAt(
      platform.gateway.url,
      CREATE,
      {
        input: {
          name: 'Bad',
          redirectUris: ['http://attacker.example/cb'],
          grantTypes: ['authorization_code'],
          scopes: [],
          public: false,
        },
      },
      adminToken,
    );
    expect(errorCode(invalid)).toBe('BAD_USER_INPUT');

    // Each change is an event audit records; the secret never travels in one.
    const db = platform.subgraphs.identity!.runtime.db;
    const events = await db
      .fork()
      .execute<Array<{ topic: string; payload: unknown }>>(
        `select topic, payload from "${db.schema}".outbox where payload->>'clientId' = ? order by seq`,
        [clientId],
      );
    expect(events.map((event) => event.topic)).toEqual(['identity.client.created', 'identity.client.updated']);
    expect(JSON.stringify(events)).not.toMatch(/secret/i);
  }, 60_000);
});
