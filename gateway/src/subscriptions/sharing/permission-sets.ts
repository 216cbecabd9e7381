import { type AuthenticatedUser, type Logger } from '@platform/kernel';
import {
  type EffectivePermissions,
  permissionFingerprint,
  RemotePermissions,
  restrictTo,
  type EventBus,
} from '@platform/kernel/gateway';

export interface PermissionSetsOptions {
  /** The permission service's base URL (authz). */
  url: string;
  /** Its name, its events' topic prefix (`auth.permissionService`). */
  service: string;
  /** Where authz's events arrive (changes take effect as they do in every subgraph). */
  bus: EventBus;
  logger: Logger;
  ttlMs: number;
  /** The deployment's service credential, for authz's internal route. */
  credential: string;
}

/**
 * Each caller's permission set, as a fingerprint (`permissionFingerprint`): callers with the
 * same one may share answers. Asked of authz with the caller's own token and cached, through
 * the same RemotePermissions every subgraph uses, so the gateway hears of a change (authz's
 * events) when the subgraphs do; `onChange` says whose set may have changed.
 */
export class PermissionSets {
  readonly #remote: RemotePermissions;

  private constructor(remote: RemotePermissions) {
    this.#remote = remote;
  }

  static async start(options: PermissionSetsOptions): Promise<PermissionSets> {
    const remote = new RemotePermissions({
      url: options.url,
      bus: options.bus,
      service: options.service,
      logger: options.logger,
      ttlMs: options.ttlMs,
      credential: options.credential,
    });
    await remote.start();
    return new PermissionSets(remote);
  }

  /** `user`'s permission set (the guest role's for a guest) and its fingerprint. */
  async of(user: AuthenticatedUser | undefined): Promise<{ fingerprint: string; permissions: EffectivePermissions }> {
    const held = await this.#remote.permissionsOf(user);
    // A caller restricted to some permissions (an API key's token) holds only those, as in every subgraph.
    const permissions = user?.restriction ? restrictTo(held, user, await this.#remote.permissionsOf(undefined)) : held;
    return { fingerprint: permissionFingerprint(permissions), permissions };
  }

  /** `listener` hears the user whose permissions may have changed, or `undefined` for anyone's. */
  onChange(listener: (userId: string | undefined) => void): () => void {
    return this.#remote.onChange(listener);
  }

  close(): Promise<void> {
    return this.#remote.close();
  }
}
