import { createHash } from 'node:crypto';
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
 * What `user` may do given what their account holds: `effective` itself, or, for a caller
 * restricted to some permissions (an API key), only those of them the account still holds, so a
 * key loses a permission the moment its owner does; plus what anyone may do (`guest`, the guest
 * role's), since a key never makes its caller less able than an anonymous one.
 */
export function restrictTo(
  effective: EffectivePermissions,
  user: AuthenticatedUser | undefined,
  guest?: EffectivePermissions,
): EffectivePermissions {
  const restriction = user?.restriction;
  if (!restriction) return effective;
  const permissions = new Set(restriction.filter((permission) => holds(effective, permission)));
  for (const permission of guest?.permissions ?? []) permissions.add(permission);
  return Object.freeze({ all: false, permissions });
}

/**
 * A short name for a permission set, the same in every process: `'*'` for `all`, otherwise the
 * first 22 characters of the base64url SHA-256 of the sorted names, one per line. Callers with
 * equal fingerprints hold the same permissions, so an answer that depends on the caller only
 * through their permissions (a shared answer) is the same for all of them.
 */
export function permissionFingerprint(effective: EffectivePermissions): string {
  if (effective.all) return '*';
  return createHash('sha256')
    .update([...effective.permissions].sort().join('\n'))
    .digest('base64url')
    .slice(0, 22);
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

/**
 * A request's `can()`: the caller's permissions are looked up once per request, on the first
 * check. `onLookup` hears of that lookup's answer once, as the first check that gets it
 * resolves; a failed lookup is not reported (the checks reject with its error).
 */
export function permissionCheck(
  resolver: PermissionResolver,
  user: AuthenticatedUser | undefined,
  onLookup?: (effective: EffectivePermissions) => void,
): (permission: string) => Promise<boolean> {
  let effective: Promise<EffectivePermissions> | undefined;
  let report = onLookup;
  return async (permission) => {
    effective ??= user?.restriction
      ? Promise.all([resolver.permissionsOf(user), resolver.permissionsOf(undefined)]).then(([answer, guest]) =>
          restrictTo(answer, user, guest),
        )
      : resolver.permissionsOf(user);
    const answer = await effective;
    if (report) {
      const first = report;
      report = undefined;
      first(answer);
    }
    return holds(answer, permission);
  };
}
