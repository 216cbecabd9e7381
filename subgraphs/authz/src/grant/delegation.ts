import { ForbiddenError, NotFoundError, type Logger, type EntityManager } from '@platform/kernel';
import { restrictTo, type EffectivePermissions } from '@platform/kernel/contracts';
import type { Role } from '../role/role.entity.js';
import type { PermissionCatalogue } from './catalogue.js';
import type { EffectivePermissionQuery } from './effective.js';

/** The built-in role whose permissions every caller holds, signed in or not. */
export const GUEST_ROLE = 'guest';

export const isGuestRole = (role: Pick<Role, 'name' | 'builtIn'>): boolean => role.builtIn && role.name === GUEST_ROLE;

/** A caller changing roles or assignments: a user (undefined when anonymous), with their request's logger. */
export interface Delegator {
  userId: string | undefined;
  logger: Logger;
  /**
   * An API key's permissions, when a key acts: its authority is what both it and its owner hold,
   * so a key cannot hand out (to roles, to other users) what it may not use itself.
   */
  restriction?: readonly string[];
  /** The organization the caller acts in (their token's `org`); null or absent: none. */
  organizationId?: string | null;
}

/** The platform itself (identity's events, start-up): not bound by delegation, only by the guest allow-list. */
export const PLATFORM = Symbol('platform');

export type Actor = Delegator | typeof PLATFORM;

export type DelegationAction =
  'createRole' | 'updateRole' | 'deleteRole' | 'grantPermissions' | 'revokePermission' | 'assignRole' | 'unassignRole';

/** What a refused change was about, for the message and the log. */
export interface DelegationSubject {
  action: DelegationAction;
  role?: { id?: string; name: string; organizationId?: string | null };
  targetUserId?: string;
}

/** A set of permissions; `all` is the admin role's "every permission, including later modules'". */
export interface Authority {
  readonly all: boolean;
  readonly permissions: Iterable<string>;
}

/** Why a change was refused: `extensions.reason`. */
export type RefusalReason = 'delegation' | 'guest-allow-list';

/**
 * FORBIDDEN: the change would hand out authority the caller does not hold, or give the guest role
 * a permission outside the allow-list. `extensions.permission` names the first permission at
 * fault (`*` when only "every permission, including later modules'" is), `missing` all of them.
 */
export class DelegationError extends ForbiddenError {
  constructor(
    message: string,
    readonly missing: readonly string[],
    readonly reason: RefusalReason,
  ) {
    super(message, missing[0]);
    this.extensions.missing = [...missing];
    this.extensions.reason = reason;
  }
}

/** The permission each kind of change needs (the shield rule checks it too, in the caller's active organization). */
const ACTION_PERMISSION: Record<DelegationAction, string> = {
  createRole: 'authz.role.create',
  updateRole: 'authz.role.update',
  grantPermissions: 'authz.role.update',
  revokePermission: 'authz.role.update',
  deleteRole: 'authz.role.delete',
  assignRole: 'authz.role.assign',
  unassignRole: 'authz.role.assign',
};

/** What the caller holds that `needed` asks for, sorted; `['*']` when only `all` is lacking. */
export function lacking(holder: EffectivePermissions, needed: Authority): string[] {
  if (holder.all) return [];
  const missing = [...new Set(needed.permissions)].filter((name) => !holder.permissions.has(name)).sort();
  return needed.all && missing.length === 0 ? ['*'] : missing;
}

const VERB: Partial<Record<DelegationAction, string>> = {
  deleteRole: 'delete',
  assignRole: 'assign',
  unassignRole: 'unassign',
};

/**
 * No privilege escalation by delegation (the rule Keycloak, Zitadel and Kubernetes RBAC apply to
 * delegated administrators): a caller may hand out, take away or reshape only authority they hold
 * themselves. `authz.role.*` says which kind of change a caller may make; this says on what.
 *
 * - assign or unassign a role: they hold every permission it grants;
 * - create a role: they hold every permission it starts with;
 * - change a role (grant, revoke, rename, describe) or delete it: they hold every permission it
 *   grants before and after the change. Taking a permission away is no escalation, but a role
 *   beyond one's authority is not one's to reshape: a helpdesk delegate could otherwise strip the
 *   auditors' role of `audit.event.read`, or relabel it, before misbehaving;
 * - whatever the caller: the guest role grants nothing outside `modules.authz.guestAllowList`.
 *
 * An administrator (a role granting every permission) passes every delegation check. A role that
 * grants every permission needs a caller who holds every permission in that sense too.
 *
 * Organizations (docs/tenancy.md): a change to a role of an organization is weighed against what
 * the caller holds while active in that organization (its roles' grants and their global ones);
 * any other change, to a global role or another organization's, against their global authority
 * only. Either way the authority must include the change's own permission (`authz.role.*`), so an
 * organization administrator can never reach a global role nor another organization's.
 */
export class DelegationPolicy {
  readonly #effective: EffectivePermissionQuery;
  readonly #catalogue: PermissionCatalogue;
  readonly #guestAllowList: ReadonlySet<string>;

  constructor(deps: {
    effective: EffectivePermissionQuery;
    catalogue: PermissionCatalogue;
    guestAllowList: ReadonlySet<string>;
  }) {
    this.#effective = deps.effective;
    this.#catalogue = deps.catalogue;
    this.#guestAllowList = deps.guestAllowList;
  }

  /** The guest allow-list in effect, sorted. */
  guestAllowList(): string[] {
    return [...this.#guestAllowList].sort();
  }

  /** Whether the guest role may grant `permission`. */
  guestMayHold(permission: string): boolean {
    return this.#guestAllowList.has(permission);
  }

  /** What a role grants: its permissions, or every permission for a role that grants all. */
  authorityOf(role: Pick<Role, 'grantsAll'>, permissions: Iterable<string>): Authority {
    return role.grantsAll ? { all: true, permissions: this.#catalogue.names() } : { all: false, permissions };
  }

  /**
   * Throws DelegationError unless `actor` holds all of `needed`. Reads the caller's permissions
   * through `em`: inside the transaction that then writes, so the check and the change see the
   * same grants. The platform itself passes.
   */
  async requireHeld(em: EntityManager, actor: Actor, needed: Authority, subject: DelegationSubject): Promise<void> {
    if (actor === PLATFORM) return;
    const authority = await this.authorityIn(em, actor, subject.role?.organizationId ?? null);
    const action = ACTION_PERMISSION[subject.action];
    const missing = lacking(authority, { all: needed.all, permissions: [action, ...needed.permissions] });
    if (missing.length === 0) return;
    const message = missing.includes(action)
      ? `Missing permission ${action}: ${
          subject.role?.organizationId
            ? "an organization's roles are changed by those who hold it there (acting in that organization) or globally"
            : 'global roles are changed only by those who hold it globally, not through an organization'
        }`
      : this.#delegationMessage(subject, missing);
    throw this.#refuse(actor, subject, missing.includes(action) ? [action] : missing, 'delegation', message);
  }

  /**
   * What `actor` may wield over roles of `organizationId` (null: global roles): their permissions
   * in it when it is the organization they act in, their global ones otherwise; an API key's
   * restriction applies.
   */
  async authorityIn(em: EntityManager, actor: Delegator, organizationId: string | null): Promise<EffectivePermissions> {
    const inside = organizationId !== null && actor.organizationId === organizationId;
    const held = await this.#effective.of(em, actor.userId, inside ? organizationId : null);
    return actor.restriction && actor.userId
      ? restrictTo(held, { id: actor.userId, restriction: actor.restriction })
      : held;
  }

  /**
   * NOT_FOUND for a role of an organization the caller does not act in, unless they may read
   * roles globally (platform staff): another organization's roles do not exist for its members.
   */
  async requireVisible(em: EntityManager, actor: Actor, role: Pick<Role, 'id' | 'organizationId'>): Promise<void> {
    if (actor === PLATFORM || !role.organizationId || actor.organizationId === role.organizationId) return;
    const global = await this.authorityIn(em, actor, null);
    if (global.all || global.permissions.has('authz.role.read')) return;
    throw new NotFoundError('Role', role.id);
  }

  /** Throws DelegationError when `role` is the guest role and any of `permissions` is outside the allow-list. */
  requireGuestAllows(actor: Actor, role: Role, permissions: readonly string[], subject: DelegationSubject): void {
    if (!isGuestRole(role)) return;
    const missing = [...new Set(permissions)].filter((name) => !this.#guestAllowList.has(name)).sort();
    if (missing.length === 0) return;
    const message =
      `${missing[0]} cannot be given to the guest role: anonymous callers may be given only ` +
      `the permissions of modules.authz.guestAllowList (${this.guestAllowList().join(', ') || 'none'})`;
    throw this.#refuse(actor, subject, missing, 'guest-allow-list', message);
  }

  #delegationMessage(subject: DelegationSubject, missing: readonly string[]): string {
    const what = missing[0] === '*' ? 'every permission, including those of modules added later' : missing[0];
    const head = `Missing permission ${missing[0]}`;
    const role = subject.role?.name;
    switch (subject.action) {
      case 'createRole':
        return `${head}: you can grant only permissions you hold yourself`;
      case 'grantPermissions':
      case 'revokePermission':
      case 'updateRole':
        return `${head}: you can change only roles whose permissions, before and after the change, you hold yourself (${role} grants or would grant ${what})`;
      default:
        return `${head}: you can ${VERB[subject.action]} only roles whose permissions you hold yourself (${role} grants ${what})`;
    }
  }

  #refuse(
    actor: Actor,
    subject: DelegationSubject,
    missing: readonly string[],
    reason: RefusalReason,
    message: string,
  ): DelegationError {
    const logger = actor === PLATFORM ? undefined : actor.logger;
    logger?.warn(
      {
        action: subject.action,
        roleId: subject.role?.id,
        roleName: subject.role?.name,
        targetUserId: subject.targetUserId,
        permission: missing[0],
        missing,
        reason,
      },
      'delegation refused',
    );
    return new DelegationError(message, missing, reason);
  }
}
