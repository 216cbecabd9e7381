import type { PlatformConfig } from '../config/schema.js';
import { serviceOrigin } from './locate.js';

/**
 * The permissions contract. One module computes every caller's effective permissions (authz;
 * which one is `auth.permissionService`). Every other service, and the gateway, reaches it the
 * same way: `GET` {@link PERMISSIONS_PATH} with the caller's token and the service credential
 * (RemotePermissions, cached per user), and its events `<service>.*` drop cached answers
 * (`<service>.assignment.created|deleted` `{ userId }` one user's, anything else everyone's).
 * The module that computes them declares it with `defineModule({ contracts: { permissions } })`,
 * and the kernel then asks it in process.
 */
export { PERMISSIONS_PATH } from '../auth/remote-permissions.js';

/** The permission service's origin, where `services.<auth.permissionService>` is. */
export const permissionServiceOrigin = (config: PlatformConfig): string | undefined =>
  serviceOrigin(config, config.auth.permissionService);
