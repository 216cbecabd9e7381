import {
  InputError,
  AuthenticationError,
  NotFoundError,
  type Emit,
  type EntityManager,
  type Logger,
} from '@platform/kernel';
import * as client from 'openid-client';
import type { ApiKeyService } from '../apikey/api-key.service.js';
import { endCredentials } from '../account/take-over.js';
import type { IdentityEvents } from '../events.js';
import type { AuthResult, ClientInfo, SessionService } from '../session/session.service.js';
import { hashSecret, newSecret } from '../tokens.js';
import { User } from '../user/user.entity.js';
import { findUserByEmail, normaliseEmail } from '../user/user.service.js';
import type { SignInProviderConfig } from './provider-config.js';
import { ExternalIdentity, ProviderSignIn } from './provider.entity.js';
import type { ExternalProviders } from './providers.js';

/** A sign-in with a provider must come back and be completed within ten minutes. */
const SIGN_IN_TTL_MS = 10 * 60_000;

/**
 * Why a sign-in came back without an account (`sign_in_error` on the return URL): the user said
 * no at the provider; the provider failed or answered wrongly; it vouched for no verified email;
 * an account with that email exists and the provider may not join it; nobody has an account and
 * the provider may not create one; the linked account was deleted; the sign-in took too long.
 */
export type SignInRefusal =
  | 'access_denied'
  | 'provider_error'
  | 'email_not_verified'
  | 'account_exists'
  | 'no_account'
  | 'account_deleted'
  | 'expired';

/** What the callback answers: where to send the browser, or a page when there is nowhere to send it. */
export type CallbackOutcome = { redirect: string } | { page: 'unknown' };

class Refused extends Error {
  constructor(readonly reason: SignInRefusal) {
    super(reason);
  }
}

export interface ProviderSignInDeps {
  providers: ExternalProviders;
  sessions: SessionService;
  apiKeys: ApiKeyService;
  emit: Emit<IdentityEvents>;
  logger: Logger;
  /** Origins `returnTo` may have. */
  returnOrigins: ReadonlySet<string>;
}

/**
 * Signing in with an external OpenID Connect provider (docs/identity.md): `start` gives the
 * client the provider's authorization URL (code flow with PKCE, state and nonce) and a binding
 * it keeps; the provider sends the browser back to `callback`, which trades the code with
 * openid-client, finds or makes the account, and sends the browser on to the client's
 * `returnTo` with a one-time code; `complete` trades binding + code (+ the second factor) for a
 * session. The binding means a code only works in the client that started the sign-in: a link
 * carrying someone else's code signs nobody in (login CSRF).
 */
export class ProviderSignInService {
  readonly #deps: ProviderSignInDeps;

  constructor(deps: ProviderSignInDeps) {
    this.#deps = deps;
  }

  /** The providers users may sign in with. */
  list(): Array<{ id: string; name: string }> {
    return this.#deps.providers.list();
  }

  async start(
    em: EntityManager,
    providerId: string,
    returnTo: string,
  ): Promise<{ authorizationUrl: string; binding: string; expiresAt: Date }> {
    const { providers } = this.#deps;
    const provider = providers.get(providerId);
    if (!provider) throw new NotFoundError('SignInProvider', providerId);
    this.#checkReturnTo(returnTo);
    const config = await providers.configuration(providerId);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const codeVerifier = client.randomPKCECodeVerifier();
    const binding = newSecret();
    const expiresAt = new Date(Date.now() + SIGN_IN_TTL_MS);
    em.create(ProviderSignIn, {
      provider: providerId,
      stateHash: hashSecret(state),
      bindingHash: hashSecret(binding),
      nonce,
      codeVerifier,
      returnTo,
      expiresAt,
    });
    await em.flush();
    const scopes = new Set(['openid', ...provider.scopes]);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: providers.callbackUrl(providerId),
      scope: [...scopes].join(' '),
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    return { authorizationUrl: url.href, binding, expiresAt };
  }

  /**
   * The provider sent the browser back (`query`: the callback's query string). Whatever happens,
   * a known sign-in goes back to its `returnTo`, with `sign_in_code` or `sign_in_error`.
   */
  async callback(em: EntityManager, providerId: string, query: URLSearchParams): Promise<CallbackOutcome> {
    const state = query.get('state');
    const flow = state
      ? await em.findOne(ProviderSignIn, { stateHash: hashSecret(state), provider: providerId, codeHash: null })
      : null;
    if (!flow || !state) return { page: 'unknown' };
    const back = (param: string, value: string): CallbackOutcome => {
      const url = new URL(flow.returnTo);
      url.searchParams.set(param, value);
      return { redirect: url.href };
    };
    try {
      if (flow.expiresAt <= new Date()) throw new Refused('expired');
      const claims = await this.#exchange(providerId, flow, state, query);
      const code = newSecret();
      await em.transactional(async (tx) => {
        const user = await this.#account(tx, providerId, this.#deps.providers.get(providerId)!, claims);
        const claimed = await tx.nativeUpdate(
          ProviderSignIn,
          { id: flow.id, codeHash: null },
          { userId: user.id, codeHash: hashSecret(code) },
        );
        if (claimed === 0) throw new Refused('expired'); // a second callback with the same state
      });
      return back('sign_in_code', code);
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      await em.nativeDelete(ProviderSignIn, { id: flow.id });
      return back('sign_in_error', error.reason);
    }
  }

  /** Trades a finished sign-in (the client's binding and the code it was handed) for a session. */
  async complete(
    em: EntityManager,
    binding: string,
    code: string,
    clientInfo: ClientInfo,
    secondFactor: string | null | undefined,
  ): Promise<AuthResult> {
    const flow = await em.findOne(ProviderSignIn, {
      bindingHash: hashSecret(binding),
      codeHash: hashSecret(code),
      expiresAt: { $gt: new Date() },
    });
    const user = flow?.userId ? await em.findOne(User, { id: flow.userId, deletedAt: null }) : null;
    if (!flow || !user) throw new AuthenticationError('Invalid or expired sign-in');
    // MFA_REQUIRED or a wrong code leaves the sign-in to be completed again, until it expires.
    const result = await this.#deps.sessions.signInVouched(em, user, clientInfo, {
      provider: flow.provider,
      secondFactor,
    });
    await em.nativeDelete(ProviderSignIn, { id: flow.id });
    return result;
  }

  /** Deletes sign-ins that were never completed; returns how many. */
  async pruneExpired(em: EntityManager): Promise<number> {
    return em.nativeDelete(ProviderSignIn, { expiresAt: { $lte: new Date() } });
  }

  #checkReturnTo(returnTo: string): void {
    let url: URL;
    try {
      url = new URL(returnTo);
    } catch {
      throw InputError.field('returnTo', 'must be an absolute URL');
    }
    if (returnTo.length > 2048) throw InputError.field('returnTo', 'must be at most 2048 characters');
    if (!this.#deps.returnOrigins.has(url.origin) || url.username || url.password) {
      throw InputError.field('returnTo', "must be on the app's origin or one of providerReturnOrigins");
    }
  }

  /** The code traded at the provider's token endpoint; the ID token's claims, with userinfo's. */
  async #exchange(
    providerId: string,
    flow: ProviderSignIn,
    state: string,
    query: URLSearchParams,
  ): Promise<Record<string, unknown>> {
    const { providers, logger } = this.#deps;
    if (query.get('error') === 'access_denied') throw new Refused('access_denied');
    try {
      const config = await providers.configuration(providerId);
      const current = new URL(providers.callbackUrl(providerId));
      current.search = query.toString();
      const tokens = await client.authorizationCodeGrant(
        config,
        current,
        { pkceCodeVerifier: flow.codeVerifier, expectedState: state, expectedNonce: flow.nonce, idTokenExpected: true },
        { redirect_uri: providers.callbackUrl(providerId) },
      );
      const claims: Record<string, unknown> = { ...tokens.claims() };
      if (config.serverMetadata().userinfo_endpoint) {
        const info = await client.fetchUserInfo(config, tokens.access_token, String(claims.sub));
        // The ID token's subject and issuer stand; userinfo adds what the token left out.
        Object.assign(claims, info, { sub: claims.sub, iss: claims.iss });
      }
      return claims;
    } catch (error) {
      logger.warn({ err: error, provider: providerId }, 'a sign-in with a provider failed at the provider');
      throw new Refused('provider_error');
    }
  }

  /**
   * The account the provider's user signs in to: the one linked to their subject; else, at their
   * first sign-in, the account with the verified email the provider vouches for (when the provider
   * may join it), or a new one (when it may create one). An account whose email nobody verified
   * may have been registered by someone else: joining it takes it over (its password, sessions,
   * second factor and API keys go). Each sign-in also reports the roles the claims give.
   */
  async #account(
    tx: EntityManager,
    providerId: string,
    provider: SignInProviderConfig,
    claims: Record<string, unknown>,
  ): Promise<User> {
    const { emit } = this.#deps;
    const subject = String(claims.sub);
    const link = await tx.findOne(ExternalIdentity, { provider: providerId, subject });
    let user: User | null;
    if (link) {
      user = await tx.findOne(User, { id: link.userId, deletedAt: null });
      if (!user) throw new Refused('account_deleted');
      link.lastSignInAt = new Date();
    } else {
      const email = typeof claims.email === 'string' ? normaliseEmail(claims.email) : '';
      const verified = claims.email_verified === true || claims.email_verified === 'true';
      if (!email || !verified || email.length > 320) throw new Refused('email_not_verified');
      user = await findUserByEmail(tx, email, { withPassword: true });
      let adopted = false;
      let created = false;
      if (user) {
        if (!provider.linkByEmail || user.serviceAccount) throw new Refused('account_exists');
        adopted = !user.emailVerified;
        if (adopted) await this.#takeOver(tx, user);
      } else {
        if (!provider.createUsers) throw new Refused('no_account');
        user = tx.create(User, { email, displayName: displayNameOf(claims), emailVerified: true });
        created = true;
        await tx.flush();
        await emit(tx, 'identity.user.created', {
          userId: user.id,
          email,
          displayName: user.displayName ?? null,
          via: 'provider',
        });
      }
      tx.create(ExternalIdentity, { provider: providerId, subject: subject.slice(0, 255), userId: user.id, email });
      await emit(
        tx,
        'identity.provider.linked',
        { userId: user.id, provider: providerId, created, adopted },
        { actorId: user.id },
      );
    }
    await tx.flush();
    if (provider.roles) {
      await emit(tx, 'identity.user.provider_roles', {
        userId: user.id,
        provider: providerId,
        roles: rolesFromClaims(claims, provider.roles),
      });
    }
    return user;
  }

  /** An unverified account joined to a provider's user: what its registrant could use goes. */
  async #takeOver(tx: EntityManager, user: User): Promise<void> {
    Object.assign(user, { passwordHash: null, passwordChangedAt: new Date(), emailVerified: true });
    await tx.flush();
    await endCredentials(tx, user.id, this.#deps, 'provider_adopted');
    await this.#deps.emit(tx, 'identity.user.email_verified', { userId: user.id });
  }
}

/** The `name` claim (or given + family name), as a display name fits. */
function displayNameOf(claims: Record<string, unknown>): string | null {
  const name =
    typeof claims.name === 'string'
      ? claims.name
      : [claims.given_name, claims.family_name].filter((part) => typeof part === 'string').join(' ');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is dropped
  const cleaned = name.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return cleaned ? cleaned.slice(0, 100) : null;
}

/** The roles `mapping` gives for the values of its claim (a string or a list of strings). */
export function rolesFromClaims(
  claims: Record<string, unknown>,
  mapping: NonNullable<SignInProviderConfig['roles']>,
): string[] {
  let value: unknown = claims;
  for (const segment of mapping.claim.split('.')) {
    value =
      value && typeof value === 'object' && Object.hasOwn(value, segment)
        ? (value as Record<string, unknown>)[segment]
        : undefined;
  }
  const values =
    typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
  const roles = new Set<string>();
  for (const each of values as string[]) {
    if (Object.hasOwn(mapping.map, each)) for (const role of mapping.map[each]!) roles.add(role);
  }
  return [...roles].sort();
}
