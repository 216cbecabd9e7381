import type { SessionService } from '../session/session.service.js';
import { Session } from '../session/session.entity.js';
import { oidcAdapter, type AdapterDatabase } from './adapter.js';
import { OAuthClient } from './client.entity.js';

/** Model name of the client → platform session links in `oidc_payload`. */
const CLIENT_SESSION = 'ClientSession';

/** How long one platform session of a client lasts before the next token opens another. */
const SESSION_TTL_SEC = 24 * 3600;

/**
 * Who a client_credentials token acts as: the client's service account, through a platform
 * session of the client's own (its `sid`), so the kernel's verifier accepts the token like any
 * user's and the service account's permissions apply. Rotating the client's secret or deleting
 * the client revokes that session: tokens already issued stop at every subgraph.
 */
export class ClientActors {
  readonly #links: InstanceType<ReturnType<typeof oidcAdapter>>;

  constructor(
    private readonly db: AdapterDatabase,
    private readonly sessions: SessionService,
  ) {
    this.#links = new (oidcAdapter(db))(CLIENT_SESSION);
  }

  /** `{ sub, sid }` for a token of `clientId`, or null when the client acts as no service account. */
  async actor(clientId: string): Promise<{ sub: string; sid: string } | null> {
    const em = this.db.fork();
    const client = await em.findOne(OAuthClient, { clientId }, { schema: this.db.schema });
    if (!client?.serviceAccountId) return null;
    const link = (await this.#links.find(clientId)) as { sessionId?: string } | undefined;
    if (link?.sessionId) {
      const session = await em.findOne(Session, { id: link.sessionId }, { schema: this.db.schema });
      // A token lives accessTokenTtlSec at most: a session with less than an hour left is not reused.
      const live = session && !session.revokedAt && session.expiresAt.getTime() > Date.now() + 3600_000;
      if (live && session.userId === client.serviceAccountId) return { sub: session.userId, sid: session.id };
    }
    const session = em.create(Session, {
      userId: client.serviceAccountId,
      expiresAt: new Date(Date.now() + SESSION_TTL_SEC * 1000),
      lastUsedAt: new Date(),
      userAgent: `oauth-client:${clientId}`.slice(0, 512),
    });
    await em.flush();
    await this.#links.upsert(clientId, { sessionId: session.id } as never, SESSION_TTL_SEC);
    return { sub: session.userId, sid: session.id };
  }

  /** Ends the client's platform session (its tokens stop everywhere). */
  async end(clientId: string): Promise<void> {
    const link = (await this.#links.find(clientId)) as { sessionId?: string } | undefined;
    if (!link?.sessionId) return;
    const em = this.db.fork();
    const session = await em.findOne(Session, { id: link.sessionId }, { schema: this.db.schema });
    if (session) await this.sessions.revoke(em, [session], 'oauth_client_changed');
    await this.#links.destroy(clientId);
  }
}
