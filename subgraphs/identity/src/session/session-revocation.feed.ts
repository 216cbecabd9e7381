import type { EventStream, Logger, ModuleConsumer, ModuleRuntime, PlatformEvent } from '@platform/kernel';

/** One identity replica per event publishes it to subscribers (a consumer group, not a broadcast). */
export const FEED_GROUP = 'identity.subscriptions-session-revoked';
/** The pub/sub topic of `mySessionRevoked`. */
export const SESSION_REVOKED_TOPIC = 'identity.mySessionRevoked';
/** Revocations older than this (identity was down, the group caught up) are not announced. */
const STALE_AFTER_MS = 60_000;

/** What `mySessionRevoked` carries between instances. */
export interface SessionRevokedPayload {
  userId: string;
  sessionId: string;
  reason: string;
  revokedAt: string;
}

/** Feeds `mySessionRevoked`: one replica per event (the group), live (at most once per event id). */
export const revocationFeedConsumer: ModuleConsumer<unknown, { revocationFeed: SessionRevocationFeed }> = {
  topic: 'identity.session.revoked',
  group: FEED_GROUP,
  live: true,
  handler: (event, _runtime, services) => services.revocationFeed.announce(event),
};

/**
 * Feeds `mySessionRevoked`: `identity.session.revoked` read once per event by the fleet and
 * published to every instance's subscribers, each of whom sees only their own sessions'.
 */
export class SessionRevocationFeed {
  readonly #runtime: ModuleRuntime;
  readonly #logger: Logger;

  constructor(runtime: ModuleRuntime) {
    this.#runtime = runtime;
    this.#logger = runtime.logger.child({ component: 'session-revocation-feed' });
  }

  /** `userId`'s revocations from now on. */
  stream(userId: string): EventStream<SessionRevokedPayload> {
    const id = userId.toLowerCase();
    return this.#runtime.pubsub.subscribe<SessionRevokedPayload>(SESSION_REVOKED_TOPIC, (event) => event.userId === id);
  }

  async announce(event: PlatformEvent): Promise<void> {
    const { userId, sessionId, reason } = event.payload;
    if (typeof userId !== 'string' || typeof sessionId !== 'string') return;
    if (Date.now() - Date.parse(event.occurredAt) > STALE_AFTER_MS) return;
    const payload: SessionRevokedPayload = {
      userId: userId.toLowerCase(),
      sessionId: sessionId.toLowerCase(),
      reason: typeof reason === 'string' ? reason : 'revoked',
      revokedAt: event.occurredAt,
    };
    await this.#runtime.pubsub.publish(SESSION_REVOKED_TOPIC, payload);
    this.#logger.debug({ sessionId, eventId: event.id }, 'mySessionRevoked published');
  }
}
