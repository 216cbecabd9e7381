import type { SqlEntityManager as EntityManager } from '@mikro-orm/sql';

/** Every event identity publishes (topic → what the payload carries). Never secrets. */
export interface IdentityEvents {
  /** `via`: how the account came to be; only `seed` accounts are trusted with the administrator role. */
  'identity.user.created': {
    userId: string;
    email: string;
    displayName: string | null;
    via: 'registration' | 'seed';
  };
  'identity.user.updated': { userId: string; changed: string[] };
  'identity.user.deleted': { userId: string };
  'identity.user.email_verified': { userId: string };
  'identity.session.revoked': { userId: string; sessionId: string; reason: string };
  'identity.login.succeeded': { userId: string; sessionId: string };
  'identity.login.failed': { userId: string | null; reason: string };
  'identity.password.changed': { userId: string; reason: 'changed' | 'reset' };
  'identity.password.reset_requested': { userId: string };
  'identity.refresh.reused': { userId: string; sessionId: string };
  /**
   * Someone registered with the address of `userId`'s account: no account was made, the caller
   * was answered as if one had been, and the owner was mailed.
   */
  'identity.registration.duplicate': { userId: string };
}

export type IdentityTopic = keyof IdentityEvents;

/** Records an event in the outbox within the caller's transaction; relayed once it commits. */
export type Emit = <T extends IdentityTopic>(
  em: EntityManager,
  topic: T,
  payload: IdentityEvents[T],
  meta?: { actorId?: string },
) => Promise<void>;
