import type { EntityManager, EventMeta } from '@platform/kernel';

/**
 * Every event authz publishes (topic → what the payload carries). Other services drop cached
 * permissions on them; audit records them.
 */
export interface AuthzEvents {
  'authz.role.created': { roleId: string; name: string };
  'authz.role.updated': { roleId: string; name: string; changed: string[] };
  /** `holders`: how many users lost the role with it. */
  'authz.role.deleted': { roleId: string; name: string; holders: number };
  'authz.grant.changed': { roleId: string; roleName: string; granted: string[]; revoked: string[] };
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
