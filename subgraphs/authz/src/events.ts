import type { SqlEntityManager as EntityManager } from '@mikro-orm/sql';
import type { EventMeta } from '@platform/kernel';

/** Every event authz publishes (topic → what the payload carries). */
export interface AuthzEvents {
  'authz.assignment.created': { userId: string; roleId: string; roleName: string };
  'authz.assignment.deleted': { userId: string; roleId: string; roleName: string };
}

export type AuthzTopic = keyof AuthzEvents;

/** Records an event in the outbox within the caller's transaction; relayed once it commits. */
export type Emit = <T extends AuthzTopic>(
  em: EntityManager,
  topic: T,
  payload: AuthzEvents[T],
  meta?: Partial<EventMeta>,
) => Promise<void>;
