import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Emit, EntityManager, Logger } from '@platform/kernel';
import type { IdentityEvents } from '../events.js';
import type { SigningKeys } from '../keys/signing-keys.js';
import { Session } from '../session/session.entity.js';
import type { ClientInfo, SessionService } from '../session/session.service.js';
import { oidcAdapter, type AdapterDatabase } from './adapter.js';
import { OidcProvider } from './provider.js';

/** Model name of the grant → platform session links in `oidc_payload`. */
const PLATFORM_SESSION = 'PlatformSession';

export interface OidcServiceOptions {
  issuer: string;
  audience: string;
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  keys: SigningKeys;
  db: AdapterDatabase;
  sessions: SessionService;
  emit: Emit<IdentityEvents>;
  logger: Logger;
  /** Who a client_credentials token acts as (OAuthClientService.actors). */
  clientActor(clientId: string): Promise<{ sub: string; sid: string } | null>;
}

/**
 * The OpenID Connect provider and what ties it to the platform's sessions: each grant (a user's
 * consent to one client, with its refresh tokens) has a platform session, named as `sid` in its
 * access tokens. Revoking the session (`revokeSession`, a password change) ends the grant's
 * tokens at every subgraph; the provider revoking the grant (a reused refresh token, revocation
 * of a refresh token, end-session) revokes the session.
 */
export class OidcService {
  readonly provider: OidcProvider;
  readonly #links: InstanceType<ReturnType<typeof oidcAdapter>>;

  constructor(private readonly options: OidcServiceOptions) {
    this.#links = new (oidcAdapter(options.db))(PLATFORM_SESSION);
    this.provider = new OidcProvider({
      issuer: options.issuer,
      audience: options.audience,
      accessTokenTtlSec: options.accessTokenTtlSec,
      refreshTokenTtlSec: options.refreshTokenTtlSec,
      keys: options.keys,
      db: options.db,
      logger: options.logger.child({ component: 'oidc' }),
      platformSession: (grantId) => this.platformSession(grantId),
      grantRevoked: (grantId, route) => this.grantRevoked(grantId, route),
      clientActor: (clientId) => options.clientActor(clientId),
    });
  }

  /** Links a grant to the platform session its access tokens name. */
  async link(grantId: string, sessionId: string): Promise<void> {
    await this.#links.upsert(grantId, { sessionId } as never, this.options.refreshTokenTtlSec);
  }

  /** A new platform session for a grant made without a sign-in (the user was signed in already). */
  async openSession(em: EntityManager, userId: string, client: ClientInfo): Promise<string> {
    const session = em.create(Session, {
      userId,
      expiresAt: new Date(Date.now() + this.options.refreshTokenTtlSec * 1000),
      lastUsedAt: new Date(),
      ip: client.ip?.slice(0, 64) ?? null,
      userAgent: client.userAgent?.slice(0, 512) ?? null,
    });
    await em.flush();
    return session.id;
  }

  /** The live platform session of a grant, or null. */
  async platformSession(grantId: string): Promise<string | null> {
    const link = (await this.#links.find(grantId)) as { sessionId?: string } | undefined;
    if (!link?.sessionId) return null;
    const session = await this.options.db
      .fork()
      .findOne(Session, { id: link.sessionId }, { schema: this.options.db.schema });
    if (!session || session.revokedAt || session.expiresAt <= new Date()) return null;
    return session.id;
  }

  /** The provider revoked a grant: its platform session ends (on reuse of a refresh token, as `refresh_reuse`). */
  async grantRevoked(grantId: string, route: string): Promise<void> {
    const link = (await this.#links.find(grantId)) as { sessionId?: string } | undefined;
    if (!link?.sessionId) return;
    const em = this.options.db.fork();
    const session = await em.findOne(Session, { id: link.sessionId }, { schema: this.options.db.schema });
    if (!session || session.revokedAt) return;
    const reused = route === 'token';
    await this.options.sessions.revoke(em, [session], reused ? 'refresh_reuse' : 'logout');
    if (reused) {
      await em.transactional((tx) =>
        this.options.emit(
          tx,
          'identity.refresh.reused',
          { userId: session.userId, sessionId: session.id },
          { actorId: session.userId },
        ),
      );
    }
    await this.#links.destroy(grantId);
  }

  /** The token a sign-in or consent form carries, bound to its interaction. */
  async csrfToken(uid: string): Promise<string> {
    const [key] = await this.provider.cookieKeys();
    return createHmac('sha256', key!).update(`oidc-interaction:${uid}`).digest('base64url');
  }

  async checkCsrf(uid: string, presented: unknown): Promise<boolean> {
    if (typeof presented !== 'string') return false;
    const expected = Buffer.from(await this.csrfToken(uid));
    const actual = Buffer.from(presented);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
}
