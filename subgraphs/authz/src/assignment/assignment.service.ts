import { isUuid, NotFoundError, type Emit, type EventMeta, type EntityManager } from '@platform/kernel';
import type { AuthzEvents } from '../events.js';
import { PLATFORM, type Actor, type DelegationPolicy, type DelegationSubject } from '../grant/delegation.js';
import { RolePermission } from '../grant/grant.entity.js';
import { Role } from '../role/role.entity.js';
import { KnownUser } from '../user/known-user.entity.js';
import { KnownMember } from '../user/known-organization.entity.js';

/** The `source` of assignments an organization's membership made (and takes back). */
export const MEMBERSHIP = 'membership';
import { RoleAssignment } from './assignment.entity.js';

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Who holds which role. Every change records its event in the same transaction, and only when
 * something changed: repeating a call (a redelivered event, a retried request) publishes nothing.
 */
export class AssignmentService {
  readonly #emit: Emit<AuthzEvents>;
  readonly #delegation: DelegationPolicy;
  readonly #tables: { assignment: string; role: string };

  /** `schema` is the module's Postgres schema, for the one statement written in SQL. */
  constructor(deps: { emit: Emit<AuthzEvents>; schema: string; delegation: DelegationPolicy }) {
    this.#emit = deps.emit;
    this.#delegation = deps.delegation;
    const schema = quoteIdent(deps.schema);
    this.#tables = { assignment: `${schema}."role_assignment"`, role: `${schema}."role"` };
  }

  /** Notes that identity has this user (from `identity.user.created`); idempotent. */
  async rememberUser(em: EntityManager, userId: string): Promise<void> {
    await em
      .createQueryBuilder(KnownUser)
      .insert({ userId, knownSince: new Date() })
      .onConflict(['userId'])
      .ignore()
      .execute();
  }

  /** Forgets a deleted user; their assignments go with `unassignAll`. */
  async forgetUser(em: EntityManager, userId: string): Promise<void> {
    await em.nativeDelete(KnownUser, { userId });
  }

  /** Throws NOT_FOUND unless identity told authz about this user. */
  async requireKnownUser(em: EntityManager, userId: string): Promise<string> {
    const id = isUuid(userId) ? userId.toLowerCase() : undefined;
    if (!id || (await em.count(KnownUser, { userId: id })) === 0) throw new NotFoundError('User', userId);
    return id;
  }

  /**
   * Takes a role (a name, or a role id) from a user; a no-op when the user does not hold it.
   * `by` must hold every permission the role grants (the platform itself always may).
   *
   * @returns whether an assignment was removed.
   */
  async unassignRole(
    em: EntityManager,
    userId: string,
    role: string,
    by: Actor,
    meta?: Partial<EventMeta>,
  ): Promise<boolean> {
    return em.transactional(async (tx) => {
      const found = await this.#findChecked(tx, role, by, { action: 'unassignRole', targetUserId: userId });
      const removed = await tx.nativeDelete(RoleAssignment, { userId, role: found.id });
      if (removed === 0) return false;
      await this.#emit(tx, 'authz.assignment.deleted', { userId, roleId: found.id, roleName: found.name }, meta);
      return true;
    });
  }

  /**
   * Gives `role` (a name, or a role id) to a user; a no-op when the user holds it already.
   * `by` must hold every permission the role grants (the platform itself always may); `meta`
   * carries the cause (request, trace, actor) into the event.
   *
   * @returns whether the assignment is new.
   */
  async assignRole(
    em: EntityManager,
    userId: string,
    role: string,
    by: Actor,
    meta?: Partial<EventMeta>,
  ): Promise<boolean> {
    return em.transactional(async (tx) => {
      const found = await this.#findChecked(tx, role, by, { action: 'assignRole', targetUserId: userId });
      // `on conflict do nothing` instead of a lookup first: concurrent calls cannot both insert.
      const inserted = await tx
        .createQueryBuilder(RoleAssignment)
        .insert({ userId, role: found.id, assignedAt: new Date() })
        .onConflict(['userId', 'role'])
        .ignore()
        .returning(['userId'])
        .execute('all');
      if (inserted.length === 0) return false;
      await this.#emit(tx, 'authz.assignment.created', { userId, roleId: found.id, roleName: found.name }, meta);
      return true;
    });
  }

  /**
   * Makes `userId` hold exactly the roles named in `roles` among the assignments `source` made
   * (`provider:<id>`: a sign-in provider's claims): the missing ones are assigned, tagged with
   * `source` (a role the user holds already stays as it was, and is never taken back by it), and
   * those `source` made that are no longer named are removed. Names of no role are skipped.
   */
  async syncSourced(
    em: EntityManager,
    userId: string,
    source: string,
    roles: readonly string[],
    meta?: Partial<EventMeta>,
  ): Promise<{ assigned: string[]; removed: string[]; unknown: string[] }> {
    return em.transactional(async (tx) => {
      const wanted = roles.length > 0 ? await tx.find(Role, { name: { $in: [...roles] }, organizationId: null }) : [];
      const unknown = roles.filter((name) => !wanted.some((role) => role.name === name));
      const assigned: string[] = [];
      for (const role of wanted) {
        const inserted = await tx
          .createQueryBuilder(RoleAssignment)
          .insert({ userId, role: role.id, assignedAt: new Date(), source })
          .onConflict(['userId', 'role'])
          .ignore()
          .returning(['userId'])
          .execute('all');
        if (inserted.length === 0) continue;
        assigned.push(role.name);
        await this.#emit(tx, 'authz.assignment.created', { userId, roleId: role.id, roleName: role.name }, meta);
      }
      const stale = await tx.find(
        RoleAssignment,
        { userId, source, ...(wanted.length > 0 ? { role: { $nin: wanted.map((role) => role.id) } } : {}) },
        { populate: ['role'] },
      );
      const removed: string[] = [];
      for (const row of stale) {
        await tx.nativeDelete(RoleAssignment, { userId, role: row.role.id, source });
        removed.push(row.role.name);
        await this.#emit(
          tx,
          'authz.assignment.deleted',
          { userId, roleId: row.role.id, roleName: row.role.name },
          meta,
        );
      }
      return { assigned, removed, unknown };
    });
  }

  /**
   * The role, after checking that `by` holds every permission it grants. A grant racing with
   * this is no escalation: whatever the role grants once both commit, its administrator gave
   * to every holder.
   */
  async #findChecked(
    tx: EntityManager,
    role: string,
    by: Actor,
    subject: Omit<DelegationSubject, 'role'>,
  ): Promise<Role> {
    // By name: a global role (the platform's own calls); by id: any role the caller may see.
    const found = await tx.findOne(
      Role,
      isUuid(role) ? { id: role.toLowerCase() } : { name: role, organizationId: null },
    );
    if (!found) throw new NotFoundError('Role', role);
    await this.#delegation.requireVisible(tx, by, found);
    // An organization's roles go to its members only.
    if (
      found.organizationId &&
      subject.targetUserId &&
      subject.action === 'assignRole' &&
      (await tx.count(KnownMember, { organizationId: found.organizationId, userId: subject.targetUserId })) === 0
    ) {
      throw new NotFoundError("Member of the role's organization", subject.targetUserId);
    }
    if (by !== PLATFORM) {
      const grants = await tx.find(RolePermission, { role: found.id });
      const needed = this.#delegation.authorityOf(
        found,
        grants.map((grant) => grant.permission),
      );
      await this.#delegation.requireHeld(tx, by, needed, { ...subject, role: found });
    }
    return found;
  }

  /** Takes every role away from a user (who was deleted); returns how many assignments went. */
  async unassignAll(em: EntityManager, userId: string, meta?: Partial<EventMeta>): Promise<number> {
    return em.transactional(async (tx) => {
      // One statement that also names the roles: MikroORM's delete cannot return rows.
      const removed = await tx.execute<Array<{ role_id: string; name: string }>>(
        `delete from ${this.#tables.assignment} a using ${this.#tables.role} r
          where a.user_id = ? and r.id = a.role_id returning a.role_id, r.name`,
        [userId],
      );
      for (const { role_id: roleId, name: roleName } of removed) {
        await this.#emit(tx, 'authz.assignment.deleted', { userId, roleId, roleName }, meta);
      }
      return removed.length;
    });
  }

  /**
   * Makes `userId` hold the built-in role of `organizationId` that goes with their membership role
   * (`admin` for owners and administrators, `member` for members), and not the other one, as far
   * as membership gave it (`source: membership`). What someone assigned by hand stays.
   */
  async syncMembership(
    em: EntityManager,
    organizationId: string,
    userId: string,
    membershipRole: string,
    meta?: Partial<EventMeta>,
  ): Promise<{ assigned: string[]; removed: string[] }> {
    const wantedName = membershipRole === 'member' ? 'member' : 'admin';
    return em.transactional(async (tx) => {
      const builtIn = await tx.find(Role, { organizationId, builtIn: true, name: { $in: ['admin', 'member'] } });
      const assigned: string[] = [];
      const removed: string[] = [];
      for (const role of builtIn) {
        if (role.name === wantedName) {
          const inserted = await tx
            .createQueryBuilder(RoleAssignment)
            .insert({ userId, role: role.id, assignedAt: new Date(), source: MEMBERSHIP })
            .onConflict(['userId', 'role'])
            .ignore()
            .returning(['userId'])
            .execute('all');
          if (inserted.length === 0) continue;
          assigned.push(role.name);
          await this.#emit(tx, 'authz.assignment.created', { userId, roleId: role.id, roleName: role.name }, meta);
        } else if ((await tx.nativeDelete(RoleAssignment, { userId, role: role.id, source: MEMBERSHIP })) > 0) {
          removed.push(role.name);
          await this.#emit(tx, 'authz.assignment.deleted', { userId, roleId: role.id, roleName: role.name }, meta);
        }
      }
      return { assigned, removed };
    });
  }

  /** Takes every role of `organizationId` from `userId` (no longer a member); returns how many went. */
  async unassignOrganization(
    em: EntityManager,
    organizationId: string,
    userId: string,
    meta?: Partial<EventMeta>,
  ): Promise<number> {
    return em.transactional(async (tx) => {
      const removed = await tx.execute<Array<{ role_id: string; name: string }>>(
        `delete from ${this.#tables.assignment} a using ${this.#tables.role} r
          where a.user_id = ? and r.id = a.role_id and r.organization_id = ? returning a.role_id, r.name`,
        [userId, organizationId],
      );
      for (const { role_id: roleId, name: roleName } of removed) {
        await this.#emit(tx, 'authz.assignment.deleted', { userId, roleId, roleName }, meta);
      }
      return removed.length;
    });
  }

  /**
   * The roles of each user in one query, in the order asked, each list sorted by name: global
   * roles, and those of `organizationId` when one is given.
   */
  async rolesOf(
    em: EntityManager,
    userIds: readonly string[],
    organizationId: string | null = null,
  ): Promise<Role[][]> {
    const rows = await em.find(
      RoleAssignment,
      {
        userId: { $in: [...userIds] },
        // `in (null, …)` never matches null in SQL: global roles are asked for by `is null`.
        role: organizationId ? { $or: [{ organizationId: null }, { organizationId }] } : { organizationId: null },
      },
      { populate: ['role'], orderBy: { role: { name: 'asc' } } },
    );
    const byUser = new Map<string, Role[]>();
    for (const row of rows) {
      const roles = byUser.get(row.userId);
      if (roles) roles.push(row.role);
      else byUser.set(row.userId, [row.role]);
    }
    return userIds.map((userId) => byUser.get(userId) ?? []);
  }
}
