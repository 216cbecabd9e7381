import type { AuthenticatedUser, EntityManager } from '@platform/kernel';
import type { EffectivePermissions, PermissionResolver } from '@platform/kernel/contracts';
import type { PermissionCatalogue } from './catalogue.js';

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Whose permissions: a user (undefined: anonymous) acting in an organization (null: none). */
export interface Caller {
  userId: string | undefined;
  organizationId?: string | null;
}

/**
 * Callers' effective permissions: what the guest role grants (everyone, signed in or not, may
 * do what an anonymous caller may), the grants of every global role the user holds, and those of
 * the roles they hold in their active organization (only permissions within
 * `organizationAllowList`: a role of an organization never reaches further, even if it was given
 * more before the list was narrowed); `all` when a global role holds every permission. One
 * statement for any number of callers.
 */
export class EffectivePermissionQuery {
  readonly #schema: string;
  readonly #catalogue: PermissionCatalogue;
  readonly #organizationAllowList: ReadonlySet<string>;

  /** `schema` is the module's Postgres schema. */
  constructor(deps: { schema: string; catalogue: PermissionCatalogue; organizationAllowList: ReadonlySet<string> }) {
    this.#schema = quoteIdent(deps.schema);
    this.#catalogue = deps.catalogue;
    this.#organizationAllowList = deps.organizationAllowList;
  }

  /** `organizationId`: the organization the user acts in (their token's); its roles count then. */
  async of(
    em: EntityManager,
    userId: string | undefined,
    organizationId: string | null = null,
  ): Promise<EffectivePermissions> {
    return (await this.ofMany(em, [{ userId, organizationId }]))[0]!;
  }

  /** In the order asked; a caller without `userId` is anonymous. */
  async ofMany(em: EntityManager, callers: ReadonlyArray<Caller>): Promise<EffectivePermissions[]> {
    const ids = [...new Set(callers.flatMap((caller) => (caller.userId === undefined ? [] : [caller.userId])))];
    const s = this.#schema;
    const byUser = ids.length
      ? `union all
         select a.user_id::text, r.organization_id::text, r.grants_all, p.permission
           from ${s}."role_assignment" a
           join ${s}."role" r on r.id = a.role_id
           left join ${s}."role_permission" p on p.role_id = r.id
          where a.user_id in (${ids.map(() => '?').join(', ')})`
      : '';
    const rows = await em.execute<
      Array<{ user_id: string | null; organization_id: string | null; grants_all: boolean; permission: string | null }>
    >(
      `select null::text as user_id, null::text as organization_id, r.grants_all, p.permission
         from ${s}."role" r
         left join ${s}."role_permission" p on p.role_id = r.id
        where r.name = 'guest' and r.organization_id is null
       ${byUser}`,
      ids,
    );
    const guest = rows.filter((row) => row.user_id === null);
    return callers.map(({ userId, organizationId = null }) => {
      const own =
        userId === undefined
          ? []
          : rows.filter(
              (row) =>
                row.user_id === userId &&
                (row.organization_id === null || (organizationId !== null && row.organization_id === organizationId)),
            );
      const global = [...guest, ...own.filter((row) => row.organization_id === null)];
      const all = global.some((row) => row.grants_all);
      const permissions = new Set(all ? this.#catalogue.names() : []);
      for (const row of global) if (row.permission) permissions.add(row.permission);
      for (const row of own) {
        if (row.organization_id !== null && row.permission && this.#organizationAllowList.has(row.permission)) {
          permissions.add(row.permission);
        }
      }
      return { all, permissions };
    });
  }
}

/** authz's own `ctx.can()`: straight from its database, so its answers are never stale. */
export class LocalPermissions implements PermissionResolver {
  constructor(
    private readonly query: EffectivePermissionQuery,
    private readonly em: () => EntityManager,
  ) {}

  permissionsOf(user: AuthenticatedUser | undefined): Promise<EffectivePermissions> {
    return this.query.of(this.em(), user?.id, user?.organizationId ?? null);
  }
}
