import type { AuthenticatedUser } from './context.js';

/**
 * What a caller may do. `all` is the admin role's "everything": it covers permissions of
 * modules added after the answer was computed, which an enumerated set cannot, so a check
 * must ask {@link holds} rather than the set alone.
 */
export interface EffectivePermissions {
  readonly all: boolean;
  readonly permissions: ReadonlySet<string>;
}

/**
 * Answers "may this caller do X?" for the `permission()` rule. authz computes the answer
 * (roles and grants): in its own process straight from its database, elsewhere through
 * RemotePermissions (cached, invalidated by authz's events). Anonymous callers get the guest
 * role's permissions.
 */
export interface PermissionResolver {
  permissionsOf(user: AuthenticatedUser | undefined): Promise<EffectivePermissions>;
}

/** Whether `effective` includes `permission`, counting `all` as every permission. */
export function holds(effective: EffectivePermissions, permission: string): boolean {
  return effective.all || effective.permissions.has(permission);
}

/**
 * Fixed permission sets: for tests, and the deny-all default of a service without authz. The
 * options are read on every lookup, so a test may change `byUser` between requests.
 */
export class StaticPermissions implements PermissionResolver {
  constructor(
    private readonly grants: {
      /** What anonymous callers hold. */
      guest?: Iterable<string>;
      /** What every signed-in caller holds. */
      user?: Iterable<string>;
      /** What particular users hold, on top of `user`. */
      byUser?: Record<string, Iterable<string>>;
      /** Users who hold every permission, as the admin role does. */
      all?: Iterable<string>;
    } = {},
  ) {}

  async permissionsOf(user: AuthenticatedUser | undefined): Promise<EffectivePermissions> {
    if (!user) return { all: false, permissions: new Set(this.grants.guest ?? []) };
    return {
      all: [...(this.grants.all ?? [])].includes(user.id),
      permissions: new Set([...(this.grants.user ?? []), ...(this.grants.byUser?.[user.id] ?? [])]),
    };
  }
}

/** A request's `can()`: the caller's permissions are looked up once per request. */
export function permissionCheck(
  resolver: PermissionResolver,
  user: AuthenticatedUser | undefined,
): (permission: string) => Promise<boolean> {
  let effective: Promise<EffectivePermissions> | undefined;
  return async (permission) => {
    effective ??= resolver.permissionsOf(user);
    return holds(await effective, permission);
  };
}
