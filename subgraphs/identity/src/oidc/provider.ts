import { KeyObject, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { EntityManager, Logger } from '@platform/kernel';
import type { SigningKeys } from '../keys/signing-keys.js';
import { SIGNING_ALG } from '../keys/signing-keys.js';
import { hashSecret } from '../tokens.js';
import { User } from '../user/user.entity.js';
import { oidcAdapter, type AdapterDatabase } from './adapter.js';
import { OIDC_PREFIX, OIDC_ROUTES } from './paths.js';
import { errorPage, logoutPage, logoutDonePage, pageCsp } from './pages.js';

/** What the provider is built from; `keys` decides which key signs, and so when it is rebuilt. */
export interface OidcProviderOptions {
  /** `auth.issuer`: the gateway's origin, where discovery is served. */
  issuer: string;
  /** `auth.audience`: the `aud` of access tokens every subgraph accepts. */
  audience: string;
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  keys: SigningKeys;
  db: AdapterDatabase;
  logger: Logger;
  /** The platform session a grant's access tokens name as `sid` (null when there is none, or it ended). */
  platformSession(grantId: string): Promise<string | null>;
  /** Who a client_credentials token of a client acts as (its service account and session), or null. */
  clientActor(clientId: string): Promise<{ sub: string; sid: string } | null>;
  /** Called when the provider revoked a grant: a reused refresh token, a revocation, a logout. */
  grantRevoked(grantId: string, route: string): Promise<void>;
}

/**
 * The scopes a client may be given. A `roles` scope (the caller's roles and permissions) waits for
 * a way to ask authz from identity's routes (docs/identity.md, "Not yet"): not advertised till then.
 */
export const OIDC_SCOPES = ['openid', 'offline_access', 'email', 'profile', 'permissions'] as const;

/** Claims per scope (docs/identity.md, "Tokens and claims"). */
const CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name'],
  // In userinfo only: they are asked of authz with the caller's access token (oidc.routes.ts).
  permissions: ['permissions'],
};

/**
 * panva's oidc-provider configured for the platform, built anew whenever the signing key changes
 * (its key store is fixed at construction; everything it keeps lives in the database, so a new
 * instance carries on where the old one left off). Access tokens are JWTs for the resource
 * `<issuer>/graphql` with `aud` = `auth.audience`, signed with the current key and naming the
 * grant's platform session in `sid`: the kernel's verifier accepts them like `login`'s, and
 * revoking that session ends them everywhere.
 */
export class OidcProvider {
  #provider: Provider | null = null;
  #kid: string | null = null;
  #cookieKeys: string[] | null = null;
  readonly resource: string;

  constructor(private readonly options: OidcProviderOptions) {
    this.resource = new URL('/graphql', options.issuer).href;
    if (new URL(options.issuer).pathname !== '/') {
      // Discovery lives at <issuer>/.well-known/openid-configuration; the gateway serves it at its root.
      options.logger.warn(
        { issuer: options.issuer },
        'auth.issuer has a path: relying parties will not find discovery; set it to the gateway origin',
      );
    }
  }

  /** The keys that sign the provider's cookies (and its forms' CSRF tokens). */
  async cookieKeys(): Promise<string[]> {
    this.#cookieKeys ??= await loadCookieKeys(this.options.db);
    return this.#cookieKeys;
  }

  /** The provider signing with the current key. */
  async current(): Promise<Provider> {
    const { kid, privateKey } = this.options.keys.current();
    if (this.#provider && this.#kid === kid) return this.#provider;
    await this.cookieKeys();
    const jwk = KeyObject.from(privateKey).export({ format: 'jwk' });
    const provider = new Provider(
      this.options.issuer,
      this.configuration({ ...jwk, kid, alg: SIGNING_ALG, use: 'sig' }),
    );
    // identity sits behind the gateway; its URLs are the issuer's whatever the Host header said.
    provider.proxy = true;
    // Secrets are stored hashed: hash what the client presents and compare.
    provider.Client.prototype.compareClientSecret = function compare(this: { clientSecret?: string }, actual: string) {
      return typeof this.clientSecret === 'string' && hashSecret(actual) === this.clientSecret;
    };
    provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
      this.options.grantRevoked(grantId, ctx.oidc?.route ?? 'unknown').catch((error: unknown) => {
        this.options.logger.error({ err: error, grantId }, 'platform session of a revoked grant not revoked');
      });
    });
    provider.on('server_error', (_ctx, error) => {
      this.options.logger.error({ err: error }, 'oidc provider error');
    });
    provider.on('grant.error', (_ctx, error) => {
      this.options.logger.warn({ err: error }, 'oidc token request refused');
    });
    if (this.#kid) this.options.logger.info({ kid, previousKid: this.#kid }, 'oidc provider signs with the new key');
    this.#provider = provider;
    this.#kid = kid;
    return provider;
  }

  /** An Express-compatible handler answering the provider's routes. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const issuer = new URL(this.options.issuer);
    req.headers['x-forwarded-host'] = issuer.host;
    req.headers['x-forwarded-proto'] = issuer.protocol.replace(/:$/, '');
    const provider = await this.current();
    await provider.callback()(req, res);
  }

  private configuration(signingJwk: Record<string, unknown>): Configuration {
    const { accessTokenTtlSec, refreshTokenTtlSec, audience, db } = this.options;
    const resource = this.resource;
    return {
      adapter: oidcAdapter(db),
      jwks: { keys: [signingJwk as never] },
      cookies: { keys: this.#cookieKeys!, long: { signed: true }, short: { signed: true } },
      routes: OIDC_ROUTES,
      scopes: [...OIDC_SCOPES],
      claims: CLAIMS,
      responseTypes: ['code'],
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      clientDefaults: {
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: SIGNING_ALG,
      },
      enabledJWA: {
        idTokenSigningAlgValues: [SIGNING_ALG],
        userinfoSigningAlgValues: [SIGNING_ALG],
        introspectionSigningAlgValues: [SIGNING_ALG],
        authorizationSigningAlgValues: [SIGNING_ALG],
        requestObjectSigningAlgValues: [SIGNING_ALG],
        clientAuthSigningAlgValues: [SIGNING_ALG],
      },
      pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
      rotateRefreshToken: true,
      ttl: {
        AccessToken: accessTokenTtlSec,
        ClientCredentials: accessTokenTtlSec,
        AuthorizationCode: 60,
        IdToken: 3600,
        Interaction: 600,
        RefreshToken: refreshTokenTtlSec,
        Grant: refreshTokenTtlSec,
        Session: refreshTokenTtlSec,
      },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        introspection: { enabled: true },
        revocation: { enabled: true },
        userinfo: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: (ctx, form) => {
            ctx.set('content-security-policy', pageCsp(ctx.oidc.client?.postLogoutRedirectUris ?? []));
            ctx.type = 'html';
            ctx.body = logoutPage(form, ctx.get('accept-language'));
          },
          postLogoutSuccessSource: (ctx) => {
            ctx.set('content-security-policy', pageCsp());
            ctx.type = 'html';
            ctx.body = logoutDonePage(ctx.get('accept-language'));
          },
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => resource,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, indicator) => {
            if (indicator !== resource) throw new errors.InvalidTarget();
            return {
              scope: OIDC_SCOPES.join(' '),
              audience,
              accessTokenTTL: accessTokenTtlSec,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: SIGNING_ALG } },
            };
          },
        },
      },
      interactions: { url: (_ctx, interaction) => `${OIDC_PREFIX}/interaction/${interaction.uid}` },
      findAccount: async (_ctx, sub) => {
        const user = await db.fork().findOne(User, { id: sub, deletedAt: null }, { schema: db.schema });
        if (!user) return undefined;
        return {
          accountId: user.id,
          claims: () => ({
            sub: user.id,
            email: user.email,
            email_verified: user.emailVerified,
            name: user.displayName ?? undefined,
          }),
        };
      },
      extraTokenClaims: async (_ctx, token) => {
        if (token.kind !== 'AccessToken' || !token.grantId) return undefined;
        const sid = await this.options.platformSession(token.grantId);
        if (!sid) throw new errors.InvalidGrant('the session of this grant has ended');
        return { sid };
      },
      formats: {
        customizers: {
          // client_credentials: the token acts as the client's service account (sub), in its session (sid).
          jwt: async (_ctx, token, jwt) => {
            if (token.kind !== 'ClientCredentials' || !token.clientId) return;
            const actor = await this.options.clientActor(token.clientId);
            if (actor) Object.assign(jwt.payload, actor);
          },
        },
      },
      renderError: (ctx, out) => {
        ctx.set('content-security-policy', pageCsp());
        ctx.type = 'html';
        ctx.body = errorPage(out, ctx.get('accept-language'));
      },
      conformIdTokenClaims: true,
    };
  }
}

/**
 * The keys signing the provider's cookies, the same on every identity instance: made once by
 * whichever starts first and kept in `oidc_payload` (model `CookieKeys`).
 */
async function loadCookieKeys(db: AdapterDatabase): Promise<string[]> {
  const table = `"${db.schema.replace(/"/g, '""')}"."oidc_payload"`;
  const em: EntityManager = db.fork();
  const fresh = JSON.stringify({ keys: [randomBytes(32).toString('base64url')] });
  await em.execute(
    `insert into ${table} ("model", "id", "payload") values ('CookieKeys', 'current', ?::jsonb) on conflict do nothing`,
    [fresh],
    'run',
  );
  const [row] = await em.execute<Array<{ payload: unknown }>>(
    `select "payload" from ${table} where "model" = 'CookieKeys' and "id" = 'current'`,
  );
  const payload = (typeof row!.payload === 'string' ? JSON.parse(row!.payload) : row!.payload) as { keys: string[] };
  return payload.keys;
}
