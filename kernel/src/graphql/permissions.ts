import type { AuthenticatedUser } from './context.js';

/**
 * Answers "may this caller do X?" for the `permission()` rule. The authz module provides the
 * real one (roles and grants, cached and invalidated by events); anonymous callers get the
 * guest role's permissions.
 */
export interface PermissionResolver {
  permissionsOf(user: AuthenticatedUser | undefined): Promise<ReadonlySet<string>>;
}

/** Fixed permission sets: for tests, and the deny-all default of a service without authz. */
export class StaticPermissions implements PermissionResolver {
  constructor(
    private readonly grants: {
      guest?: Iterable<string>;
      user?: Iterable<string>;
      byUser?: Record<string, Iterable<string>>;
    } = {},
  ) {}

  async permissionsOf(user: AuthenticatedUser | undefined): Promise<ReadonlySet<string>> {
    if (!user) return new Set(this.grants.guest ?? []);
    return new Set([...(this.grants.user ?? []), ...(this.grants.byUser?.[user.id] ?? [])]);
  }
}

/** A request's `can()`: the caller's permissions are looked up once per request. */
export function permissionCheck(
  resolver: PermissionResolver,
  user: AuthenticatedUser | undefined,
): (permission: string) => Promise<boolean> {
  let permissions: Promise<ReadonlySet<string>> | undefined;
  return async (permission) => {
    permissions ??= resolver.permissionsOf(user);
    return (await permissions).has(permission);
  };
}
