import type { Request, Response, Router } from 'express';
import { PlatformError, type ModuleRuntime, type RouteContext } from '@platform/kernel';
import { PERMISSIONS_PATH } from '@platform/kernel/contracts';
import type { AuthzServices } from './services.js';

/**
 * `GET /internal/permissions`: the caller's effective permissions, for other services' `can()`
 * (the kernel's RemotePermissions). A service asks on behalf of the user whose request it
 * serves, forwarding their access token, so no service-to-service secret is needed and nobody
 * learns more than their own permissions (which `me { permissions }` shows them anyway).
 * Without a token: the guest role's. With an active organization (the token's `org`): its roles' too.
 */
export function permissionRoutes(
  router: Router,
  runtime: ModuleRuntime,
  services: AuthzServices,
  kernel: RouteContext,
): void {
  router.get(PERMISSIONS_PATH, async (req: Request, res: Response) => {
    res.set('cache-control', 'no-store');
    let user: Awaited<ReturnType<RouteContext['authenticate']>>;
    try {
      user = await kernel.authenticate(req);
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error;
      res.status(401).json({ error: error.message });
      return;
    }
    // In the caller's active organization (their token's `org`): its roles count too.
    const userId = user?.id;
    const organizationId = user?.organizationId ?? null;
    const effective = await services.effective.of(runtime.em(), userId, organizationId);
    res.json({
      userId: userId ?? null,
      organizationId,
      all: effective.all,
      permissions: [...effective.permissions].sort(),
    });
  });
}
