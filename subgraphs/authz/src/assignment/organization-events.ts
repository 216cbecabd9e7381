import { randomUUID } from 'node:crypto';
import {
  causedBy,
  handleOnce,
  isUuid,
  type Emit,
  type EntityManager,
  type EventMeta,
  type Logger,
  type ModuleConsumer,
  type ModuleRuntime,
  type PlatformEvent,
} from '@platform/kernel';
import type { AuthzEvents } from '../events.js';
import { RolePermission } from '../grant/grant.entity.js';
import { Role } from '../role/role.entity.js';
import { KnownMember, KnownOrganization } from '../user/known-organization.entity.js';
import type { AssignmentService } from './assignment.service.js';

/** Its own consumer group: one pattern per group (see `identityUserConsumer`). */
export const ORGANIZATION_CONSUMER_GROUP = 'authz-organizations';

/** identity's organization events, as the kernel runs them (module.ts). */
export const identityOrganizationConsumer: ModuleConsumer<unknown, { organizationEvents: OrganizationEventConsumer }> =
  {
    topic: 'identity.organization.*',
    group: ORGANIZATION_CONSUMER_GROUP,
    handler: (event, _runtime, services) => services.organizationEvents.handle(event),
  };

/** The built-in roles of an organization and their grants (`modules.authz.organizationRoles`). */
export interface OrganizationRoleGrants {
  admin: readonly string[];
  member: readonly string[];
}

const DESCRIPTIONS = {
  admin: "The organization's owners and administrators",
  member: "The organization's members",
} as const;

/**
 * Keeps authz in step with identity's organizations (docs/tenancy.md): a new organization gets
 * its built-in roles `admin` and `member`; a member holds the one their membership role goes
 * with, and loses every role of the organization when they leave it. Events of one organization
 * may be handled out of order by different instances: each handler first makes sure the
 * organization and its built-in roles exist. Each runs at most once per event id.
 */
export class OrganizationEventConsumer {
  readonly #runtime: ModuleRuntime;
  readonly #assignments: AssignmentService;
  readonly #emit: Emit<AuthzEvents>;
  readonly #roles: OrganizationRoleGrants;
  readonly #logger: Logger;

  constructor(deps: {
    runtime: ModuleRuntime;
    assignments: AssignmentService;
    emit: Emit<AuthzEvents>;
    roles: OrganizationRoleGrants;
  }) {
    this.#runtime = deps.runtime;
    this.#assignments = deps.assignments;
    this.#emit = deps.emit;
    this.#roles = deps.roles;
    this.#logger = deps.runtime.logger.child({ component: 'organization-events' });
  }

  /** What authz keeps from each topic; invitations and switches change nothing here. */
  static readonly TOPICS = new Set([
    'identity.organization.created',
    'identity.organization.member_added',
    'identity.organization.member_role_changed',
    'identity.organization.member_removed',
  ]);

  async handle(event: PlatformEvent): Promise<void> {
    if (!OrganizationEventConsumer.TOPICS.has(event.topic)) return;
    const { organizationId, userId, role } = event.payload as Record<string, unknown>;
    if (!isUuid(organizationId)) return this.#skipMalformed(event);
    const organization = organizationId.toLowerCase();
    const meta = causedBy(event);
    switch (event.topic) {
      case 'identity.organization.created':
        await handleOnce(this.#runtime.db, 'authz.organization.on-created', event, (em) =>
          this.#ensureOrganization(em, organization, meta),
        );
        return;
      case 'identity.organization.member_added':
      case 'identity.organization.member_role_changed': {
        const membership = event.topic.endsWith('member_added') ? role : event.payload.to;
        if (!isUuid(userId) || typeof membership !== 'string') return this.#skipMalformed(event);
        const user = userId.toLowerCase();
        await handleOnce(this.#runtime.db, `authz.organization.on-${event.topic.split('.')[2]}`, event, async (em) => {
          await this.#ensureOrganization(em, organization, meta);
          await this.#assignments.rememberUser(em, user);
          await em
            .createQueryBuilder(KnownMember)
            .insert({ organizationId: organization, userId: user, role: membership })
            .onConflict(['organizationId', 'userId'])
            .merge(['role'])
            .execute();
          const synced = await this.#assignments.syncMembership(em, organization, user, membership, meta);
          if (synced.assigned.length + synced.removed.length > 0) {
            this.#logger.info({ organizationId: organization, userId: user, ...synced }, 'membership roles synced');
          }
        });
        return;
      }
      case 'identity.organization.member_removed': {
        if (!isUuid(userId)) return this.#skipMalformed(event);
        const user = userId.toLowerCase();
        await handleOnce(this.#runtime.db, 'authz.organization.on-member-removed', event, async (em) => {
          await em.nativeDelete(KnownMember, { organizationId: organization, userId: user });
          const removed = await this.#assignments.unassignOrganization(em, organization, user, meta);
          if (removed > 0)
            this.#logger.info({ organizationId: organization, userId: user, removed }, 'member roles removed');
        });
        return;
      }
      default:
    }
  }

  /** The organization and its built-in roles, made once whichever instance and event comes first. */
  async #ensureOrganization(em: EntityManager, organizationId: string, meta: Partial<EventMeta>): Promise<void> {
    const inserted = await em
      .createQueryBuilder(KnownOrganization)
      .insert({ id: organizationId, knownSince: new Date() })
      .onConflict(['id'])
      .ignore()
      .returning(['id'])
      .execute('all');
    if (inserted.length === 0) return;
    for (const name of ['admin', 'member'] as const) {
      const role = em.create(Role, {
        id: randomUUID(),
        name,
        description: DESCRIPTIONS[name],
        builtIn: true,
        organizationId,
      });
      await em.flush();
      const grants = [...new Set(this.#roles[name])].sort();
      for (const permission of grants) em.create(RolePermission, { role, permission });
      await em.flush();
      await this.#emit(em, 'authz.role.created', { roleId: role.id, name, organizationId }, meta);
      if (grants.length > 0) {
        await this.#emit(
          em,
          'authz.grant.changed',
          { roleId: role.id, roleName: name, granted: grants, revoked: [] },
          meta,
        );
      }
    }
    this.#logger.info({ organizationId }, "an organization's built-in roles made");
  }

  /** A redelivery cannot fix a bad payload: logged and acknowledged rather than retried. */
  #skipMalformed(event: PlatformEvent): void {
    this.#logger.error({ eventId: event.id, topic: event.topic }, 'organization event without valid ids skipped');
  }
}
