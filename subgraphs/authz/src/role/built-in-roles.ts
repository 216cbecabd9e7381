import type { Emit, EntityManager } from '@platform/kernel';
import { randomUUID } from 'node:crypto';
import type { AuthzEvents } from '../events.js';
import type { PermissionCatalogue } from '../grant/catalogue.js';
import { GUEST_ROLE, type DelegationPolicy } from '../grant/delegation.js';
import { RolePermission } from '../grant/grant.entity.js';
import { Role } from './role.entity.js';

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** The roles every installation has; `admin` holds every permission, `guest` is anonymous. */
export const BUILT_IN_ROLES = [
  { name: 'admin', description: 'Every permission', grantsAll: true, grants: [] },
  {
    name: 'user',
    description: 'Every registered user',
    grantsAll: false,
    grants: ['blog.post.read', 'blog.post.create', 'blog.post.update', 'blog.post.delete'],
  },
  { name: GUEST_ROLE, description: 'Anonymous callers', grantsAll: false, grants: ['blog.post.read'] },
] as const;

/** Seeds the built-in roles and keeps the guest role within its allow-list; both run on every start. */
export class BuiltInRoles {
  readonly #emit: Emit<AuthzEvents>;
  readonly #catalogue: PermissionCatalogue;
  readonly #delegation: DelegationPolicy;
  readonly #grants: string;
  readonly #roles: string;

  /** `schema` is the module's Postgres schema, for the one statement written in SQL. */
  constructor(deps: {
    emit: Emit<AuthzEvents>;
    catalogue: PermissionCatalogue;
    delegation: DelegationPolicy;
    schema: string;
  }) {
    this.#emit = deps.emit;
    this.#catalogue = deps.catalogue;
    this.#delegation = deps.delegation;
    this.#grants = `${quoteIdent(deps.schema)}."role_permission"`;
    this.#roles = `${quoteIdent(deps.schema)}."role"`;
  }

  /**
   * Creates the built-in roles that are missing, with the grants a fresh install starts with
   * (only those some module declares; for guest, only those its allow-list has). Safe on every
   * start and from several processes at once (`on conflict (name) do nothing`). Returns the
   * names it created.
   */
  async ensure(em: EntityManager): Promise<string[]> {
    const existing = new Set(
      (await em.find(Role, { name: { $in: BUILT_IN_ROLES.map((r) => r.name) }, organizationId: null })).map(
        (r) => r.name,
      ),
    );
    const missing = BUILT_IN_ROLES.filter((role) => !existing.has(role.name));
    if (missing.length === 0) return [];
    const now = new Date();
    return em.transactional(async (tx) => {
      const created: string[] = [];
      for (const role of missing) {
        const id = randomUUID();
        // The conflict target names the global roles' unique index (its predicate included).
        const inserted = await tx.execute<Array<{ id: string }>>(
          `insert into ${this.#roles} (id, name, description, built_in, grants_all, created_at)
           values (?, ?, ?, true, ?, ?)
           on conflict (name) where organization_id is null do nothing
           returning id`,
          [id, role.name, role.description, role.grantsAll, now],
        );
        if (inserted.length === 0) continue; // another process made it first
        const grants = role.grants.filter(
          (permission) =>
            this.#catalogue.has(permission) && (role.name !== GUEST_ROLE || this.#delegation.guestMayHold(permission)),
        );
        if (grants.length > 0) {
          await tx
            .createQueryBuilder(RolePermission)
            .insert(grants.map((permission) => ({ role: id, permission, grantedAt: now })))
            .execute();
        }
        created.push(role.name);
      }
      return created;
    });
  }

  /**
   * Takes from the guest role every permission outside `modules.authz.guestAllowList`: granted
   * before the list existed, or the list was narrowed since. Records the revocation like any
   * other (so caches drop it everywhere) and returns what was taken, sorted.
   */
  async enforceGuestAllowList(em: EntityManager): Promise<string[]> {
    const allowed = this.#delegation.guestAllowList();
    return em.transactional(async (tx) => {
      // One statement that names what it removed, so concurrent starts report each grant once.
      const removed = await tx.execute<Array<{ role_id: string; name: string; permission: string }>>(
        `delete from ${this.#grants} p using ${this.#roles} r
          where r.id = p.role_id and r.name = ? and r.built_in and r.organization_id is null
            and not (p.permission = any(?::text[]))
        returning p.role_id, r.name, p.permission`,
        [GUEST_ROLE, `{${allowed.map((name) => `"${name}"`).join(',')}}`],
      );
      if (removed.length === 0) return [];
      const revoked = removed.map((row) => row.permission).sort();
      await this.#emit(tx, 'authz.grant.changed', {
        roleId: removed[0]!.role_id,
        roleName: removed[0]!.name,
        granted: [],
        revoked,
      });
      return revoked;
    });
  }
}
