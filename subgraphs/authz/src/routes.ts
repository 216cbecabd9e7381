import type { Request, Response, Router } from 'express';
import { PlatformError, type ModuleRuntime, type RouteContext } from '@platform/kernel';
import { PERMISSIONS_PATH } from '@platform/kernel/contracts';
import type { AuthzServices } from './services.js';

/**
 * `GET /internal/permissions`: the caller's effective permissions, for other services' `can()`
 * (the kernel's RemotePermissions). A service asks on behalf of the user whose request it
 * serves, forwarding their access token, so no service-to-service secret is needed and nobody
 * learns more than their own permissions (which `me { permissions }` shows them anyway).
 * Without a token: the guest role's.
 */
export function permissionRoutes(
  router: Router,
  runtime: ModuleRuntime,
  services: AuthzServices,
  kernel: RouteContext,
): void {
  router.get(PERMISSIONS_PATH, async (req: Request, res: Response) => {
    res.set('cache-control', 'no-store');
    let userId: string | undefined;
    try {
      userId = (await kernel.authenticate(req))?.id;
    } catch (error) {
      if (!(error instanceof PlatformError)) throw error;
      res.status(401).json({ error: error.message });
      return;
    }
    const effective = await services.effective.of(runtime.em(), userId);
    res.json({ userId: userId ?? null, all: effective.all, permissions: [...effective.permissions].sort() });
  });
}
