import DataLoader from 'dataloader';
import type { SqlEntityManager as EntityManager } from '@mikro-orm/sql';
import type { Logger } from 'pino';

/** The authenticated caller, once identity issues tokens. */
export interface AuthenticatedUser {
  id: string;
  sessionId?: string;
  /**
   * The raw bearer token the caller presented, so this service can ask another (authz) on the
   * caller's behalf. A credential: never log it, never put it in an event, never return it.
   * The logger redacts `token` one level deep (`user.token`), not deeper, so log `user.id`,
   * not the user object.
   */
  token?: string;
  /**
   * Set when an API key acts (its access token says so): the only permissions the caller may use,
   * whatever their owner holds. Every check answers `owner's permissions ∩ restriction`.
   */
  restriction?: readonly string[];
  /** The API key acting for the user, when one is: audit records name it beside the owner. */
  apiKeyId?: string;
  /**
   * The caller's active organization (the token's `org` claim): identity puts it there only for
   * a member, chosen at login or by `switchOrganization`. Undefined: no organization is active.
   */
  organizationId?: string;
}

/**
 * Per-request context every resolver receives. `Services` is what the module's `services`
 * hook built at start (its mailers, hashers, domain services…).
 */
export interface GraphQLContext<Services = unknown> {
  requestId: string;
  /** EntityManager forked for this request: its identity map lives and dies with it. */
  em: EntityManager;
  /** Request-scoped logger (`requestId`, `traceId`, `module` on every line). */
  logger: Logger;
  /**
   * The caller; undefined when anonymous. In a shared answer (see `SHARED_ANSWER_HEADER`) only
   * whether they are signed in shows: reading their id, session or token throws CALLER_SPECIFIC,
   * so a resolver that needs them must have its rule wrapped in `perCaller()`.
   */
  user?: AuthenticatedUser;
  /** Whether the caller holds a permission (`module.resource.action`); anonymous = guest. */
  can(permission: string): Promise<boolean>;
  /** The module's own services. */
  services: Services;
  /**
   * Fires when nobody will read the answer (the client went away, the deadline passed); every
   * field resolved after that fails with REQUEST_ABORTED. Pass it on to long work of your own.
   */
  signal?: AbortSignal;
  /**
   * A request-scoped DataLoader per key: the first call creates it with `batch`, later calls
   * in the same request reuse it, so lookups batch and cache per request.
   */
  loader<K, V>(key: string, batch: DataLoader.BatchLoadFn<K, V>): DataLoader<K, V>;
}

/** Builds the `loader()` function of one request. */
export function loaderFactory(): GraphQLContext['loader'] {
  const loaders = new Map<string, DataLoader<unknown, unknown>>();
  return <K, V>(key: string, batch: DataLoader.BatchLoadFn<K, V>): DataLoader<K, V> => {
    let loader = loaders.get(key) as DataLoader<K, V> | undefined;
    if (!loader) {
      loader = new DataLoader<K, V>(batch, { maxBatchSize: 500 });
      loaders.set(key, loader as DataLoader<unknown, unknown>);
    }
    return loader;
  };
}
