import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  afterCursor,
  ConflictError,
  InputError,
  isUuid,
  NEWEST_FIRST,
  NotFoundError,
  pageOf,
  requireUuid,
  toConnection,
  type Connection,
  type PageArgs,
  type EntityManager,
  type Emit,
} from '@platform/kernel';
import type { AuthzEvents } from '../events.js';
import { RoleAssignment } from '../assignment/assignment.entity.js';
import { RolePermission } from '../grant/grant.entity.js';
import type { PermissionCatalogue } from '../grant/catalogue.js';
import { PLATFORM, type Actor, type DelegationAction, type DelegationPolicy } from '../grant/delegation.js';
import { KnownOrganization } from '../user/known-organization.entity.js';
import { Role } from './role.entity.js';

const ROLE_NAME = /^[a-z][a-z0-9_-]{1,63}$/;
const MAX_DESCRIPTION = 500;
const MAX_PERMISSIONS_PER_CALL = 200;

export type ListRolesArgs = PageArgs & {
  /** Global roles and those of this organization (null: global roles only). */
  organizationId: string | null;
};

export interface CreateRoleInput {
  name: string;
  description?: string | null;
  permissions?: string[] | null;
  /** The organization it belongs to; null: a global role; undefined: the caller's active organization, else global. */
  organizationId?: string | null;
}

export interface UpdateRoleInput {
  name?: string | null;
  description?: string | null;
}

/** Reads roles; newest first with keyset cursors. */
export async function listRoles(em: EntityManager, args: ListRolesArgs): Promise<Connection<Role>> {
  const { size, cursor } = pageOf(args);
  // `in (null, …)` never matches null in SQL: global roles are asked for by `is null`.
  const scope = args.organizationId
    ? { $or: [{ organizationId: null }, { organizationId: args.organizationId }] }
    : { organizationId: null };
  const [rows, totalCount] = await Promise.all([
    em.find(Role, { $and: [afterCursor(cursor), scope] }, { orderBy: NEWEST_FIRST, limit: size + 1 }),
    em.count(Role, scope),
  ]);
  return toConnection(rows, size, totalCount);
}

/** Loads roles by id in one statement, in the order asked (null where missing). */
export async function rolesByIds(em: EntityManager, ids: readonly string[]): Promise<Array<Role | null>> {
  const rows = await em.find(Role, { id: { $in: [...ids] } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** A role name: 2–64 of lower-case letters, digits, `-` and `_`, starting with a letter. */
function roleName(value: unknown): string {
  const name = typeof value === 'string' ? value.trim() : '';
  if (!ROLE_NAME.test(name)) {
    throw InputError.field(
      'name',
      'must be 2-64 characters of lower-case letters, digits, "-" and "_", starting with a letter',
    );
  }
  return name;
}

function roleDescription(value: string | null | undefined): string | null {
  const description = value?.trim() ?? '';
  if (description.length > MAX_DESCRIPTION) {
    throw InputError.field('description', `must be at most ${MAX_DESCRIPTION} characters`);
  }
  return description || null;
}

/**
 * Roles and what they grant. Every change records its event in the same transaction, and only
 * when something changed, so audit sees exactly what happened and caches drop only when needed.
 * Every change is also bound by the delegation rule (see DelegationPolicy), checked inside that
 * transaction before anything is written: a refusal changes nothing. `by` is the caller, or
 * PLATFORM for the platform's own changes (only the guest allow-list binds those).
 */
export class RoleService {
  readonly #emit: Emit<AuthzEvents>;
  readonly #catalogue: PermissionCatalogue;
  readonly #delegation: DelegationPolicy;
  readonly #organizationAllowList: ReadonlySet<string>;

  constructor(deps: {
    emit: Emit<AuthzEvents>;
    catalogue: PermissionCatalogue;
    delegation: DelegationPolicy;
    /** What a role of an organization may grant (`modules.authz.organizationAllowList`). */
    organizationAllowList: ReadonlySet<string>;
  }) {
    this.#emit = deps.emit;
    this.#catalogue = deps.catalogue;
    this.#delegation = deps.delegation;
    this.#organizationAllowList = deps.organizationAllowList;
  }

  /** The organization a new role belongs to: as asked, else the caller's active one, else none (global). */
  #scopeOf(input: CreateRoleInput, by: Actor): string | null {
    if (input.organizationId === null) return null;
    if (input.organizationId !== undefined) return requireUuid(input.organizationId, 'organizationId');
    return by === PLATFORM ? null : (by.organizationId ?? null);
  }

  /** INPUT error unless a role of an organization may grant every one of `permissions`. */
  #requireOrganizationGrantable(role: { organizationId?: string | null }, permissions: readonly string[]): void {
    if (!role.organizationId) return;
    const outside = permissions.filter((name) => !this.#organizationAllowList.has(name)).sort();
    if (outside.length === 0) return;
    throw new InputError(
      `An organization's role cannot grant ${outside.join(', ')}: only the permissions of modules.authz.organizationAllowList`,
      outside.map((name) => ({ field: 'permissions', message: `${name} is not grantable within an organization` })),
    );
  }

  async create(em: EntityManager, input: CreateRoleInput, by: Actor): Promise<Role> {
    const name = roleName(input.name);
    const description = roleDescription(input.description);
    const permissions = this.#known(input.permissions ?? [], 'permissions');
    const organizationId = this.#scopeOf(input, by);
    this.#requireOrganizationGrantable({ organizationId }, permissions);
    try {
      return await em.transactional(async (tx) => {
        if (organizationId && (await tx.count(KnownOrganization, { id: organizationId })) === 0) {
          throw new NotFoundError('Organization', organizationId);
        }
        await this.#delegation.requireHeld(
          tx,
          by,
          { all: false, permissions },
          { action: 'createRole', role: { name, organizationId } },
        );
        const role = tx.create(Role, { name, description, organizationId });
        await tx.flush();
        for (const permission of permissions) tx.create(RolePermission, { role, permission });
        await tx.flush();
        await this.#emit(tx, 'authz.role.created', {
          roleId: role.id,
          name,
          ...(organizationId ? { organizationId } : {}),
        });
        if (permissions.length > 0) {
          await this.#emit(tx, 'authz.grant.changed', {
            roleId: role.id,
            roleName: name,
            granted: permissions,
            revoked: [],
          });
        }
        return role;
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ConflictError(`A role named ${name} already exists`);
      }
      throw error;
    }
  }

  async update(em: EntityManager, id: string, input: UpdateRoleInput, by: Actor): Promise<Role> {
    const name = input.name === undefined || input.name === null ? undefined : roleName(input.name);
    const description = input.description === undefined ? undefined : roleDescription(input.description);
    if (name === undefined && description === undefined) {
      throw new InputError('Nothing to change: give a name or a description', [
        { field: 'input', message: 'give a name or a description' },
      ]);
    }
    try {
      return await em.transactional(async (tx) => {
        const role = await this.#find(tx, id, by);
        const changed: string[] = [];
        if (name !== undefined && name !== role.name) {
          if (role.builtIn) throw new ConflictError(`Built-in role ${role.name} cannot be renamed`);
          changed.push('name');
        }
        if (description !== undefined && description !== (role.description ?? null)) changed.push('description');
        await this.#requireHoldsRole(tx, by, role, [], 'updateRole');
        if (changed.length === 0) return role;
        if (name !== undefined) role.name = name;
        if (description !== undefined) role.description = description;
        role.updatedAt = new Date();
        await tx.flush();
        await this.#emit(tx, 'authz.role.updated', { roleId: role.id, name: role.name, changed });
        return role;
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ConflictError(`A role named ${name} already exists`);
      }
      throw error;
    }
  }

  /** Deletes a role with its grants and assignments; built-in roles stay (CONFLICT). */
  async delete(em: EntityManager, id: string, by: Actor): Promise<boolean> {
    return em.transactional(async (tx) => {
      const role = await this.#find(tx, id, by);
      if (role.builtIn) throw new ConflictError(`Built-in role ${role.name} cannot be deleted`);
      await this.#requireHoldsRole(tx, by, role, [], 'deleteRole');
      const holders = await tx.count(RoleAssignment, { role: role.id });
      tx.remove(role);
      await tx.flush();
      await this.#emit(tx, 'authz.role.deleted', { roleId: role.id, name: role.name, holders });
      return true;
    });
  }

  /** Adds permissions to a role; those it already grants are left as they are. */
  async grant(em: EntityManager, roleId: string, permissions: readonly string[], by: Actor): Promise<Role> {
    const wanted = this.#known(permissions, 'permissions');
    if (wanted.length === 0) throw InputError.field('permissions', 'name at least one permission');
    return em.transactional(async (tx) => {
      const role = await this.#find(tx, roleId, by);
      if (role.grantsAll) throw new ConflictError(`Role ${role.name} already holds every permission`);
      this.#requireOrganizationGrantable(role, wanted);
      const subject = { action: 'grantPermissions', role } as const;
      this.#delegation.requireGuestAllows(by, role, wanted, subject);
      await this.#requireHoldsRole(tx, by, role, wanted, 'grantPermissions');
      const inserted = await tx
        .createQueryBuilder(RolePermission)
        .insert(wanted.map((permission) => ({ role: role.id, permission, grantedAt: new Date() })))
        .onConflict(['role', 'permission'])
        .ignore()
        .returning(['permission'])
        .execute('all');
      const granted = (inserted as Array<{ permission: string }>).map((row) => row.permission).sort();
      if (granted.length > 0) {
        await this.#emit(tx, 'authz.grant.changed', { roleId: role.id, roleName: role.name, granted, revoked: [] });
      }
      return role;
    });
  }

  /** Takes one permission from a role; a no-op when the role does not grant it. */
  async revoke(em: EntityManager, roleId: string, permission: string, by: Actor): Promise<Role> {
    const name = typeof permission === 'string' ? permission.trim() : '';
    return em.transactional(async (tx) => {
      const role = await this.#find(tx, roleId, by);
      if (role.grantsAll) throw new ConflictError(`Role ${role.name} holds every permission; none can be revoked`);
      await this.#requireHoldsRole(tx, by, role, [], 'revokePermission');
      const removed = await tx.nativeDelete(RolePermission, { role: role.id, permission: name });
      // A name no module declares may still be granted (its module was removed): revocable then.
      if (removed === 0 && !this.#catalogue.has(name)) {
        throw InputError.field('permission', `no module declares ${JSON.stringify(name)}`);
      }
      if (removed > 0) {
        await this.#emit(tx, 'authz.grant.changed', {
          roleId: role.id,
          roleName: role.name,
          granted: [],
          revoked: [name],
        });
      }
      return role;
    });
  }

  /** What each role grants, in one statement; a role holding everything lists the whole catalogue. */
  async permissionsOf(em: EntityManager, roles: readonly Role[]): Promise<string[][]> {
    const ids = roles.filter((role) => !role.grantsAll).map((role) => role.id);
    const rows =
      ids.length > 0 ? await em.find(RolePermission, { role: { $in: ids } }, { orderBy: { permission: 'asc' } }) : [];
    const byRole = new Map<string, string[]>();
    for (const row of rows) {
      const list = byRole.get(row.role.id);
      if (list) list.push(row.permission);
      else byRole.set(row.role.id, [row.permission]);
    }
    return roles.map((role) => (role.grantsAll ? this.#catalogue.names() : (byRole.get(role.id) ?? [])));
  }

  /**
   * The role, locked until the transaction ends: changes to one role happen one at a time, so
   * what the delegation check read is what the change applies to.
   */
  async #find(tx: EntityManager, id: string, by: Actor): Promise<Role> {
    const role = isUuid(id)
      ? await tx.findOne(Role, { id: id.toLowerCase() }, { lockMode: LockMode.PESSIMISTIC_WRITE })
      : null;
    if (!role) throw new NotFoundError('Role', id);
    await this.#delegation.requireVisible(tx, by, role);
    return role;
  }

  /**
   * Refuses unless `by` holds every permission `role` grants now and every one of `adding`:
   * the role before and after the change lies within the caller's authority.
   */
  async #requireHoldsRole(
    tx: EntityManager,
    by: Actor,
    role: Role,
    adding: readonly string[],
    action: DelegationAction,
  ): Promise<void> {
    const [current] = await this.permissionsOf(tx, [role]);
    const needed = this.#delegation.authorityOf(role, [...current!, ...adding]);
    await this.#delegation.requireHeld(tx, by, needed, { action, role });
  }

  /** Trimmed, de-duplicated permission names, every one declared by some module. */
  #known(permissions: readonly string[], field: string): string[] {
    if (permissions.length > MAX_PERMISSIONS_PER_CALL) {
      throw InputError.field(field, `at most ${MAX_PERMISSIONS_PER_CALL} permissions per call`);
    }
    const names = [...new Set(permissions.map((p) => (typeof p === 'string' ? p.trim() : '')))];
    const unknown = names.filter((name) => !this.#catalogue.has(name));
    if (unknown.length > 0) {
      throw new InputError(
        `Unknown permission${unknown.length === 1 ? '' : 's'}: ${unknown.map((n) => JSON.stringify(n)).join(', ')}`,
        unknown.map((name) => ({ field, message: `no module declares ${JSON.stringify(name)}` })),
      );
    }
    return names;
  }
}
