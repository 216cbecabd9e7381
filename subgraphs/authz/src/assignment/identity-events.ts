import {
  causedBy,
  handleOnce,
  isUuid,
  type Logger,
  type ModuleConsumer,
  type ModuleRuntime,
  type PlatformConfig,
  type PlatformEvent,
} from '@platform/kernel';
import { PLATFORM } from '../grant/delegation.js';
import type { AssignmentService } from './assignment.service.js';

/** Consumer group of every authz replica: each identity event is handled by one of them. */
export const CONSUMER_GROUP = 'authz';

/**
 * The seed administrator's email, lower-cased: identity's `modules.identity.seedAdmin.email`,
 * read from the raw platform config because identity's config schema is identity's own.
 */
export function seedAdminEmail(platform: PlatformConfig): string | undefined {
  const seedAdmin = platform.modules.identity?.seedAdmin as { email?: unknown } | undefined;
  const email = typeof seedAdmin?.email === 'string' ? seedAdmin.email.trim().toLowerCase() : '';
  return email || undefined;
}

/**
 * identity's user events as the kernel runs them (module.ts), after `onStart` made the built-in
 * roles they assign. One subscription for the group: on Redis a group is one cursor over the
 * stream, and a member subscribed to another pattern would acknowledge (drop) what it does not match.
 */
export const identityUserConsumer: ModuleConsumer<unknown, { identityEvents: IdentityEventConsumer }> = {
  topic: 'identity.user.*',
  group: CONSUMER_GROUP,
  handler: (event, _runtime, services) => services.identityEvents.handle(event),
};

/**
 * Keeps assignments in step with identity's users: a new user gets the built-in `user` role
 * (and `admin` when the account is the configured seed administrator); a deleted user loses
 * every role, since authz keeps only user ids. Each handler runs at most once per event id.
 */
export class IdentityEventConsumer {
  readonly #runtime: ModuleRuntime;
  readonly #assignments: AssignmentService;
  readonly #logger: Logger;
  readonly #adminEmail: string | undefined;

  constructor(deps: { runtime: ModuleRuntime; assignments: AssignmentService }) {
    this.#runtime = deps.runtime;
    this.#assignments = deps.assignments;
    this.#logger = deps.runtime.logger.child({ component: 'identity-events' });
    this.#adminEmail = seedAdminEmail(deps.runtime.platform);
  }

  /** One of identity's user events; the topics authz does not care about are acknowledged as is. */
  async handle(event: PlatformEvent): Promise<void> {
    if (event.topic === 'identity.user.created') await this.userCreated(event);
    else if (event.topic === 'identity.user.deleted') await this.userDeleted(event);
    else if (event.topic === 'identity.user.provider_roles') await this.providerRoles(event);
  }

  /**
   * A sign-in with an external provider whose claims map to roles (identity's
   * `signInProviders.<id>.roles`): the user holds exactly those among the roles that provider gave.
   */
  async providerRoles(event: PlatformEvent): Promise<void> {
    const { userId, provider, roles } = event.payload;
    const valid =
      isUuid(userId) &&
      typeof provider === 'string' &&
      /^[a-z0-9][a-z0-9-]{0,39}$/.test(provider) &&
      Array.isArray(roles) &&
      roles.every((role) => typeof role === 'string');
    if (!valid) return this.#skipMalformed(event);
    let outcome = { assigned: [] as string[], removed: [] as string[], unknown: [] as string[] };
    await handleOnce(this.#runtime.db, 'authz.assignment.on-provider-roles', event, async (em) => {
      // identity tells of users before their roles: a user authz has not heard of yet is one it should.
      await this.#assignments.rememberUser(em, userId);
      outcome = await this.#assignments.syncSourced(
        em,
        userId,
        `provider:${provider}`,
        roles as string[],
        causedBy(event),
      );
    });
    if (outcome.unknown.length > 0) {
      this.#logger.warn(
        { provider, roles: outcome.unknown },
        "a sign-in provider's role mapping names roles that do not exist",
      );
    }
    if (outcome.assigned.length + outcome.removed.length > 0) {
      this.#logger.info({ userId, provider, ...outcome, eventId: event.id }, 'roles synced from a sign-in provider');
    }
  }

  async userCreated(event: PlatformEvent): Promise<void> {
    const { userId, email, via } = event.payload;
    if (!isUuid(userId)) return this.#skipMalformed(event);
    // Only the account identity itself seeded is the administrator: someone registering with the
    // configured address before the seed ran must not become one.
    const roles = via === 'seed' && this.#isSeedAdmin(email) ? ['user', 'admin'] : ['user'];
    const assigned: string[] = [];
    await handleOnce(this.#runtime.db, 'authz.assignment.on-user-created', event, async (em) => {
      await this.#assignments.rememberUser(em, userId);
      for (const role of roles) {
        if (await this.#assignments.assignRole(em, userId, role, PLATFORM, causedBy(event))) assigned.push(role);
      }
    });
    if (assigned.length > 0) this.#logger.info({ userId, roles: assigned, eventId: event.id }, 'roles assigned');
  }

  async userDeleted(event: PlatformEvent): Promise<void> {
    const { userId } = event.payload;
    if (!isUuid(userId)) return this.#skipMalformed(event);
    let removed = 0;
    await handleOnce(this.#runtime.db, 'authz.assignment.on-user-deleted', event, async (em) => {
      removed = await this.#assignments.unassignAll(em, userId, causedBy(event));
      await this.#assignments.forgetUser(em, userId);
    });
    if (removed > 0) this.#logger.info({ userId, removed, eventId: event.id }, 'roles of deleted user removed');
  }

  #isSeedAdmin(email: unknown): boolean {
    return (
      this.#adminEmail !== undefined && typeof email === 'string' && email.trim().toLowerCase() === this.#adminEmail
    );
  }

  /** A redelivery cannot fix a bad payload: logged and acknowledged rather than retried. */
  #skipMalformed(event: PlatformEvent): void {
    this.#logger.error(
      { eventId: event.id, topic: event.topic, source: event.source },
      'event without a valid userId skipped',
    );
  }
}
