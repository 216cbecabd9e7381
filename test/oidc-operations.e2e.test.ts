import { describe, expect, it } from '@jest/globals';
import { createServer as createHttpServer } from 'node:http';
import * as oidc from 'openid-client';
import { emitter, type ModuleRuntime } from '@platform/kernel';
import { eventually } from '@platform/kernel/testing';
import type { IdentityConfig } from '../subgraphs/identity/src/config.js';
import type { IdentityEvents } from '../subgraphs/identity/src/events.js';
import { deleteExpiredOidcPayloads } from '../subgraphs/identity/src/oidc/adapter.js';
import { OidcService } from '../subgraphs/identity/src/oidc/oidc.service.js';
import type { IdentityServices } from '../subgraphs/identity/src/services.js';
import {
  adminToken,
  ALICE,
  aliceId,
  Browser,
  CREATE,
  createClient,
  issuer,
  platform,
  REDIRECT,
  rp,
  useOidcPlatform,
} from './fixtures/oidc-platform.js';
import { errorCode, graphqlAt, signIn } from './helpers.js';

/**
 * The OpenID Connect provider as its operators meet it: clients managed through GraphQL with the
 * identity.client.* permissions, client_credentials tokens for service accounts, state kept in the
 * database across provider instances and pruned on schedule, signing-key rotation.
 */
useOidcPlatform();

describe('OpenID Connect provider operations', () => {
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
