import express, { type Request, type Response, type Router } from 'express';
import { decodeJwt } from 'jose';
import type Provider from 'oidc-provider';
import { currentRequest, emitter, type ModuleRuntime, type RouteContext } from '@platform/kernel';
import type { IdentityConfig } from '../config.js';
import type { AuthResult, ClientInfo, SessionService } from '../session/session.service.js';
import { User } from '../user/user.entity.js';
import { OidcService } from './oidc.service.js';
import type { OAuthClientService } from './client.service.js';
import type { IdentityEvents } from '../events.js';
import type { SigningKeys } from '../keys/signing-keys.js';
import { consentPage, messagePage, pageCsp, signInPage } from './pages.js';
import { isProviderPath, OIDC_PREFIX, OIDC_ROUTES } from './paths.js';
import { OIDC_SCOPES } from './provider.js';
import { fill, stringsFor } from './strings.js';

const INTERACTION = `${OIDC_PREFIX}/interaction/:uid`;

/** Form bodies of the sign-in and consent pages: small, urlencoded. */
const formBody = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * The provider's routes on identity: the sign-in and consent pages (its interactions), userinfo
 * (answered here: access tokens are JWTs for the platform, which the provider's own userinfo does
 * not accept), and everything else of the protocol handed to oidc-provider.
 */
export function oidcRoutes(
  router: Router,
  runtime: ModuleRuntime<IdentityConfig>,
  services: { sessions: SessionService; keys: SigningKeys; oauthClients: OAuthClientService },
  kernel: RouteContext,
): OidcService {
  const logger = runtime.logger.child({ component: 'oidc' });
  const oidc = new OidcService({
    issuer: runtime.platform.auth.issuer,
    audience: runtime.platform.auth.audience,
    accessTokenTtlSec: runtime.platform.auth.accessTokenTtlSec,
    refreshTokenTtlSec: runtime.config.refreshTokenTtlSec,
    keys: services.keys,
    db: { fork: () => runtime.em(), schema: runtime.db.schema },
    sessions: services.sessions,
    emit: emitter<IdentityEvents>(runtime.events),
    logger,
    clientActor: (clientId) => services.oauthClients.actors.actor(clientId),
  });

  router.get(INTERACTION, async (req, res) => {
    const provider = await oidc.provider.current();
    const details = await interaction(provider, req, res);
    if (!details) return;
    await render(req, res, provider, details);
  });

  router.post(`${INTERACTION}/login`, formBody, async (req, res) => {
    const provider = await oidc.provider.current();
    const details = await interaction(provider, req, res);
    if (!details || !(await csrfOk(req, res, details))) return;
    const t = stringsFor(req.get('accept-language'));
    const email = String(req.body?.email ?? '').slice(0, 320);
    const password = String(req.body?.password ?? '').slice(0, 1024);
    const code = String(req.body?.totp ?? '').trim() || null;
    let result: AuthResult;
    try {
      result = await login(services.sessions, runtime.em(), email, password, clientInfo(req), code);
    } catch (error) {
      const failure = loginFailure(error, t, Boolean(code));
      if (!failure) throw error;
      res.status(failure.status);
      await render(req, res, provider, details, { email, error: failure.message, codeRequired: failure.codeRequired });
      return;
    }
    const grantId = await grantFor(provider, details, result.user.id, oidc.provider.resource);
    await oidc.link(grantId, result.session.id);
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: result.user.id, amr: code ? ['pwd', 'otp'] : ['pwd'] }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  });

  router.post(`${INTERACTION}/confirm`, formBody, async (req, res) => {
    const provider = await oidc.provider.current();
    const details = await interaction(provider, req, res);
    if (!details || !(await csrfOk(req, res, details))) return;
    const accountId = details.session?.accountId;
    if (details.prompt.name !== 'consent' || !accountId) {
      res
        .status(400)
        .type('html')
        .send(messagePage(stringsFor(req.get('accept-language')).expired));
      return;
    }
    const existing = Boolean(details.grantId);
    const grantId = await grantFor(provider, details, accountId, oidc.provider.resource);
    if (!existing || !(await oidc.platformSession(grantId))) {
      const em = runtime.em();
      await oidc.link(grantId, await oidc.openSession(em, accountId, clientInfo(req)));
    }
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  });

  router.post(`${INTERACTION}/abort`, formBody, async (req, res) => {
    const provider = await oidc.provider.current();
    const details = await interaction(provider, req, res);
    if (!details || !(await csrfOk(req, res, details))) return;
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user refused' },
      { mergeWithLastSubmission: false },
    );
  });

  // userinfo: the caller's claims for the scopes its access token carries.
  router.all(OIDC_ROUTES.userinfo, formBody, async (req, res) => {
    res.set('cache-control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'POST') {
      res.status(405).set('allow', 'GET, POST').end();
      return;
    }
    const refuse = (status: number, error: string) => {
      res.status(status).set('www-authenticate', `Bearer error="${error}"`).json({ error });
    };
    let caller;
    try {
      caller = await kernel.authenticate(req);
    } catch {
      refuse(401, 'invalid_token');
      return;
    }
    const token = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    if (!caller || !token) {
      refuse(401, 'invalid_token');
      return;
    }
    const scopes = new Set(String(decodeJwt(token).scope ?? '').split(' '));
    if (!scopes.has('openid')) {
      refuse(403, 'insufficient_scope');
      return;
    }
    const user = await runtime.em().findOne(User, { id: caller.id, deletedAt: null });
    if (!user) {
      refuse(401, 'invalid_token');
      return;
    }
    // `permissions`: what the user may do, as every subgraph sees it (`*` for the admin role's everything).
    const effective = scopes.has('permissions') ? await kernel.permissionsOf(caller) : undefined;
    res.json({
      sub: user.id,
      ...(scopes.has('email') ? { email: user.email, email_verified: user.emailVerified } : {}),
      ...(scopes.has('profile') && user.displayName ? { name: user.displayName } : {}),
      ...(effective ? { permissions: effective.all ? ['*'] : [...effective.permissions].sort() } : {}),
    });
  });

  router.use((req, res, next) => {
    if (!isProviderPath(req.path)) {
      next();
      return;
    }
    oidc.provider.handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'oidc provider failed');
      if (!res.headersSent) res.status(500).json({ error: 'server_error' });
    });
  });
  return oidc;

  async function interaction(provider: Provider, req: Request, res: Response): Promise<Details | null> {
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== req.params.uid) throw new Error('interaction mismatch');
      return details;
    } catch {
      res
        .status(400)
        .type('html')
        .send(messagePage(stringsFor(req.get('accept-language')).expired));
      return null;
    }
  }

  async function csrfOk(req: Request, res: Response, details: Details): Promise<boolean> {
    if (await oidc.checkCsrf(details.uid, req.body?.csrf)) return true;
    res
      .status(403)
      .type('html')
      .send(messagePage(stringsFor(req.get('accept-language')).expired));
    return false;
  }

  async function render(
    req: Request,
    res: Response,
    provider: Provider,
    details: Details,
    form: { email?: string; error?: string; codeRequired?: boolean } = {},
  ): Promise<void> {
    const client = await provider.Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? String(details.params.client_id);
    const scopes = requestedScopes(details);
    const csrf = await oidc.csrfToken(details.uid);
    const base = `${OIDC_PREFIX}/interaction/${encodeURIComponent(details.uid)}`;
    const language = req.get('accept-language');
    // The form posts here, then the browser is redirected to the client: allow both.
    res.set('cache-control', 'no-store');
    res.set('content-security-policy', pageCsp(client?.redirectUris ?? []));
    res.type('html');
    const signedIn = details.prompt.name !== 'login' && details.session?.accountId;
    res.send(
      signedIn
        ? consentPage({ action: `${base}/confirm`, abortAction: `${base}/abort`, csrf, clientName, scopes }, language)
        : signInPage(
            { action: `${base}/login`, abortAction: `${base}/abort`, csrf, clientName, scopes, ...form },
            language,
          ),
    );
  }
}

/** The scopes asked for that the provider knows. */
function requestedScopes(details: Details): string[] {
  const asked = String(details.params.scope ?? 'openid').split(' ');
  return OIDC_SCOPES.filter((scope) => asked.includes(scope));
}

/**
 * The user's grant to the client: the scopes asked for (the provider keeps only those the client
 * is allowed), for ID tokens and userinfo and for the platform's resource.
 */
async function grantFor(provider: Provider, details: Details, accountId: string, resource: string): Promise<string> {
  const clientId = String(details.params.client_id);
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing && existing.accountId === accountId ? existing : new provider.Grant({ accountId, clientId });
  const scope = requestedScopes(details).join(' ');
  grant.addOIDCScope(scope);
  grant.addResourceScope(resource, scope);
  const claims = details.prompt.details.missingOIDCClaims;
  if (Array.isArray(claims)) grant.addOIDCClaims(claims as string[]);
  return grant.save();
}

function clientInfo(req: Request): ClientInfo {
  const request = currentRequest();
  return { ip: request?.ip ?? req.ip, userAgent: request?.userAgent ?? req.get('user-agent') };
}

/**
 * `SessionService.login` with the second factor when one was typed: the throttle, the lockout,
 * the events and two-factor sign-in are login's, as for the `login` mutation.
 */
function login(
  sessions: SessionService,
  em: ReturnType<ModuleRuntime['em']>,
  email: string,
  password: string,
  client: ClientInfo,
  code: string | null,
): Promise<AuthResult> {
  return sessions.login(em, email, password, client, { secondFactor: code });
}

/** What the page says about a refused sign-in; null for an unexpected error. */
function loginFailure(
  error: unknown,
  t: ReturnType<typeof stringsFor>,
  codeGiven: boolean,
): { status: number; message: string; codeRequired?: boolean } | null {
  const code = (error as { extensions?: { code?: unknown; retryAfter?: unknown } })?.extensions?.code;
  switch (code) {
    case 'MFA_REQUIRED':
      return { status: 401, message: codeGiven ? t.badCode : t.codeRequired, codeRequired: true };
    case 'UNAUTHENTICATED':
      return { status: 401, message: t.badCredentials };
    case 'RATE_LIMITED': {
      const seconds = Number((error as { extensions: { retryAfter?: unknown } }).extensions.retryAfter ?? 60);
      return { status: 429, message: fill(t.throttled, { seconds }) };
    }
    default:
      return null;
  }
}
