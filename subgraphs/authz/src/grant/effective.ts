import type { AuthenticatedUser, EntityManager } from '@platform/kernel';
import type { EffectivePermissions, PermissionResolver } from '@platform/kernel/contracts';
import type { PermissionCatalogue } from './catalogue.js';

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Callers' effective permissions: what the guest role grants (everyone, signed in or not, may
 * do what an anonymous caller may) plus the grants of every role the user holds; `all` when one
 * of those roles holds every permission. One statement for any number of users.
 */
export class EffectivePermissionQuery {
  readonly #schema: string;
  readonly #catalogue: PermissionCatalogue;

  /** `schema` is the module's Postgres schema. */
  constructor(deps: { schema: string; catalogue: PermissionCatalogue }) {
    this.#schema = quoteIdent(deps.schema);
    this.#catalogue = deps.catalogue;
  }

  async of(em: EntityManager, userId: string | undefined): Promise<EffectivePermissions> {
    return (await this.ofMany(em, [userId]))[0]!;
  }

  /** In the order asked; `undefined` stands for an anonymous caller. */
  async ofMany(em: EntityManager, userIds: ReadonlyArray<string | undefined>): Promise<EffectivePermissions[]> {
    const ids = [...new Set(userIds.filter((id): id is string => id !== undefined))];
    const s = this.#schema;
    const byUser = ids.length
      ? `union all
         select a.user_id::text, r.grants_all, p.permission
           from ${s}."role_assignment" a
           join ${s}."role" r on r.id = a.role_id
           left join ${s}."role_permission" p on p.role_id = r.id
          where a.user_id in (${ids.map(() => '?').join(', ')})`
      : '';
    const rows = await em.execute<Array<{ user_id: string | null; grants_all: boolean; permission: string | null }>>(
      `select null::text as user_id, r.grants_all, p.permission
         from ${s}."role" r
         left join ${s}."role_permission" p on p.role_id = r.id
        where r.name = 'guest'
       ${byUser}`,
      ids,
    );
    const guest = rows.filter((row) => row.user_id === null);
    return userIds.map((userId) => {
      const own = userId === undefined ? [] : rows.filter((row) => row.user_id === userId);
      const all = [...guest, ...own].some((row) => row.grants_all);
      const permissions = new Set(all ? this.#catalogue.names() : []);
      for (const row of [...guest, ...own]) if (row.permission) permissions.add(row.permission);
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
    return this.query.of(this.em(), user?.id);
  }
}
