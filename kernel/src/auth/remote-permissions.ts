import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { EventBus, Subscription } from '../events/bus.js';
import type { PlatformEvent } from '../events/event.js';
import type { AuthenticatedUser } from '../graphql/context.js';
import type { EffectivePermissions, PermissionResolver } from '../graphql/permissions.js';
import { InvalidTokenError } from './invalid-token.error.js';
import { SERVICE_CREDENTIAL_HEADER } from '../security/service-credential.js';

export interface RemotePermissionsOptions {
  /**
   * authz's base URL (`http://127.0.0.1:4002`), or a function returning it once known: in the
   * in-process platform authz starts after some of the modules that will ask it, so the URL
   * is resolved on every fetch, not at construction.
   */
  url: string | (() => string | undefined);
  /** Where authz's events arrive. Without one only `ttlMs` bounds how stale an answer gets. */
  bus?: EventBus;
  /** The permission service's name, its events' topic prefix (`auth.permissionService`). Default `authz`. */
  service?: string;
  logger: Logger;
  /**
   * Longest an answer is served, events or not: the safety net for an invalidation that never
   * arrived (a pub/sub message lost while Redis reconnected). Default 60 s.
   */
  ttlMs?: number;
  /** Callers whose answers are kept; the least recently used go first. Default 10 000. */
  maxEntries?: number;
  /** Time allowed for one request to authz, body included. Default 2 s. */
  timeoutMs?: number;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** The deployment's service credential: authz's internal routes answer only services. */
  credential?: string;
  /** Hears each failed lookup (authz unreachable, slow or failing; not a refused token). */
  onFailure?: (error: Error) => void;
}

/** authz's side of the contract: subgraphs/authz/src/routes.ts. */
export const PERMISSIONS_PATH = '/internal/permissions';

/** The guest's cache key; a user id never starts with NUL, so the two cannot meet. */
const GUEST_KEY = '\u0000guest';

/** The cache key of a caller: the guest, or a user in an organization (none: empty). */
const keyOf = (userId: string | null | undefined, organizationId: string | null | undefined): string =>
  userId ? `${userId.toLowerCase()}\u0000${organizationId?.toLowerCase() ?? ''}` : GUEST_KEY;

const answerSchema = z.object({
  userId: z.string().nullable(),
  /** The organization the answer is for (the token's `org`); absent from an authz that predates them. */
  organizationId: z.string().nullable().optional(),
  all: z.boolean(),
  permissions: z.array(z.string()),
});

/**
 * The caller's effective permissions as authz computes them, for every service but authz
 * itself: fetched over HTTP on the caller's behalf (their own access token, so no service
 * secret exists and nobody learns more than their own permissions), cached per user, and
 * dropped when authz announces a change. Call `start()` to listen for those announcements.
 *
 * A change takes effect as soon as its event arrives: an assignment drops its user's answer,
 * anything about roles or grants drops every answer (any user may hold the role, the guest
 * included). A lookup still on its way when the event arrives may be computed from the old
 * state, so it is handed to those already waiting for it but never cached, and callers that
 * come after the event start a fresh lookup. `ttlMs` bounds the damage of a lost event.
 *
 * Failures are not cached: authz unreachable, slow or failing rejects with an Error naming
 * authz and the URL (the operation fails as INTERNAL_SERVER_ERROR and the error is logged);
 * a token authz refuses rejects with InvalidTokenError (UNAUTHENTICATED).
 */
export class RemotePermissions implements PermissionResolver {
  readonly #url: () => string | undefined;
  readonly #bus: EventBus | undefined;
  readonly #service: string;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #credential: string | undefined;
  readonly #onFailure: ((error: Error) => void) | undefined;
  readonly #cache: LRUCache<string, EffectivePermissions>;
  /**
   * Lookups on their way to authz, by cache key. Being here is also what allows an answer to
   * be cached: an invalidation removes the entry, and a lookup finds it replaced or gone.
   */
  readonly #pending = new Map<string, Promise<EffectivePermissions>>();
  #started: Promise<void> | undefined;
  #subscription: Subscription | undefined;
  #stopResetListener: (() => void) | undefined;
  readonly #changeListeners = new Set<(userId: string | undefined) => void>();

  constructor(options: RemotePermissionsOptions) {
    const { url, ttlMs = 60_000, maxEntries = 10_000, timeoutMs = 2_000 } = options;
    for (const [name, value] of Object.entries({ ttlMs, maxEntries, timeoutMs })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new TypeError(`RemotePermissions ${name} must be a positive integer, not ${value}`);
      }
    }
    this.#url = typeof url === 'function' ? url : () => url;
    this.#bus = options.bus;
    this.#service = options.service ?? 'authz';
    this.#logger = options.logger.child({ component: 'remote-permissions' });
    this.#timeoutMs = timeoutMs;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#credential = options.credential;
    this.#onFailure = options.onFailure;
    this.#cache = new LRUCache({ max: maxEntries, ttl: ttlMs });
  }

  /**
   * Listens to authz's events on every process (a broadcast, not a consumer group: each
   * process has its own cache). Answers cached before the listener was in place may have
   * missed an event, so they are dropped once it is. Idempotent.
   */
  start(): Promise<void> {
    this.#started ??= (async () => {
      if (!this.#bus) {
        this.#logger.warn('no event bus: cached permissions expire only by age');
        return;
      }
      this.#subscription = await this.#bus.listen(`${this.#service}.*`, (event) => this.#onEvent(event));
      // A transport that lost data may have lost invalidations with it.
      this.#stopResetListener = this.#bus.onReset?.(() => this.invalidate());
      this.invalidate();
    })();
    return this.#started;
  }

  /** Stops listening and forgets every answer. */
  async close(): Promise<void> {
    const started = this.#started;
    this.#started = undefined;
    await started?.catch(() => undefined);
    this.#stopResetListener?.();
    this.#stopResetListener = undefined;
    await this.#subscription?.close();
    this.#subscription = undefined;
    this.invalidate();
  }

  /**
   * Forgets one user's answer (their next lookup asks authz), or everybody's without an id.
   * Tells the `onChange` listeners.
   */
  invalidate(userId?: string): void {
    if (userId === undefined) {
      this.#cache.clear();
      this.#pending.clear();
      this.#changed(undefined);
      return;
    }
    // Every answer of the user: one per organization they acted in.
    const id = userId.toLowerCase();
    const prefix = `${id}\u0000`;
    for (const key of [...this.#cache.keys()]) if (key.startsWith(prefix)) this.#cache.delete(key);
    for (const key of [...this.#pending.keys()]) if (key.startsWith(prefix)) this.#pending.delete(key);
    this.#changed(id);
  }

  /**
   * Calls `listener` right after every invalidation (an authz event, a bus reset, `invalidate()`,
   * `close()`): with the user's id, lower-cased, when only their answer was dropped, and with
   * undefined when everybody's was. What holds answers derived from permissions (the gateway's
   * shared subscriptions) re-checks them then. A listener that throws is logged, and neither
   * stops the invalidation nor the other listeners. Returns the function that removes it.
   */
  onChange(listener: (userId: string | undefined) => void): () => void {
    // A wrapper per call, so the same function added twice is called twice and removed once per remover.
    const entry = (userId: string | undefined): void => listener(userId);
    this.#changeListeners.add(entry);
    return () => {
      this.#changeListeners.delete(entry);
    };
  }

  #changed(userId: string | undefined): void {
    for (const listener of [...this.#changeListeners]) {
      try {
        listener(userId);
      } catch (error) {
        this.#logger.error({ err: error, userId }, 'a permissions change listener failed');
      }
    }
  }

  permissionsOf(user: AuthenticatedUser | undefined): Promise<EffectivePermissions> {
    // Checked before the cache, so a service that forgets to keep the token fails every time,
    // not only when the cache happens to be cold.
    if (user && !user.token) {
      return Promise.reject(
        new Error(
          "RemotePermissions cannot ask authz for a signed-in caller without their access token: the service's " +
            'authenticate() must return the token (TokenVerifier.authenticate does)',
        ),
      );
    }
    // Per user and active organization: what a user may do depends on the one they act in.
    const key = keyOf(user?.id, user?.organizationId);
    const cached = this.#cache.get(key);
    if (cached) return Promise.resolve(cached);
    const inFlight = this.#pending.get(key);
    if (inFlight) return inFlight;

    const lookup: Promise<EffectivePermissions> = this.#ask(key, user?.token).then(
      (effective) => {
        if (this.#pending.get(key) === lookup) {
          this.#pending.delete(key);
          this.#cache.set(key, effective);
        }
        return effective;
      },
      (error: unknown) => {
        if (this.#pending.get(key) === lookup) this.#pending.delete(key);
        throw error;
      },
    );
    this.#pending.set(key, lookup);
    return lookup;
  }

  #onEvent(event: PlatformEvent): void {
    if (
      event.topic === `${this.#service}.assignment.created` ||
      event.topic === `${this.#service}.assignment.deleted`
    ) {
      const { userId } = event.payload as { userId?: unknown };
      if (typeof userId === 'string' && userId.length > 0) {
        this.#logger.debug({ topic: event.topic, eventId: event.id, userId }, "dropped a user's cached permissions");
        this.invalidate(userId);
        return;
      }
    }
    // Roles, grants, and anything authz adds later or sends malformed: anyone may be affected.
    this.#logger.debug({ topic: event.topic, eventId: event.id }, 'dropped all cached permissions');
    this.invalidate();
  }

  /** One request to authz, its failures reported to `onFailure` (a refused token is not one). */
  async #ask(key: string, token: string | undefined): Promise<EffectivePermissions> {
    try {
      return await this.#askOnce(key, token);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) this.#onFailure?.(error as Error);
      throw error;
    }
  }

  /** One request to authz; whatever goes wrong becomes an error worth reading in the logs. */
  async #askOnce(key: string, token: string | undefined): Promise<EffectivePermissions> {
    const base = this.#url();
    if (!base) {
      throw new Error(`authz's URL is not known yet (authz has not started), so permissions cannot be looked up`);
    }
    const url = `${base.replace(/\/+$/, '')}${PERMISSIONS_PATH}`;
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        headers: {
          accept: 'application/json',
          ...(this.#credential ? { [SERVICE_CREDENTIAL_HEADER]: this.#credential } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const timedOut = asError(error)?.name === 'TimeoutError';
      throw new Error(
        timedOut
          ? `authz did not answer within ${this.#timeoutMs} ms (GET ${url})`
          : `authz is unreachable (GET ${url}): ${describe(error)}`,
        { cause: error },
      );
    }
    const body = parseJson(text);
    const ms = Math.round((performance.now() - started) * 10) / 10;
    this.#logger.debug(
      { caller: key === GUEST_KEY ? 'guest' : key.replace('\u0000', ' in '), status: response.status, ms },
      'asked authz for permissions',
    );

    if (response.status === 401 && token) {
      // This service's verifier accepted the token, authz did not: most likely a revocation
      // authz knows of and this service has not heard yet.
      const refusal = (body as { error?: unknown } | undefined)?.error;
      throw new InvalidTokenError(
        'revoked',
        `authz refused the token${typeof refusal === 'string' ? `: ${refusal}` : ''}`,
      );
    }
    if (response.status !== 200) throw new Error(`authz answered ${response.status} (GET ${url})`);
    const parsed = answerSchema.safeParse(body);
    if (!parsed.success) throw new Error(`authz sent a malformed permissions answer (GET ${url})`);
    const { userId, organizationId, all, permissions } = parsed.data;
    // The cache is keyed by the caller this service verified; an answer about anyone else must not land under it.
    if (keyOf(userId, organizationId) !== key) {
      throw new Error(`authz answered for another caller than the one asked about (GET ${url})`);
    }
    return Object.freeze({ all, permissions: new Set(permissions) });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * `fetch`'s errors may come from another realm (Node's own, under Jest's VM), where
 * `instanceof Error` is false, so they are recognised by shape.
 */
function asError(value: unknown): { name?: unknown; message?: unknown; cause?: unknown } | undefined {
  return typeof value === 'object' && value !== null ? value : undefined;
}

function describe(error: unknown): string {
  const { message, cause } = asError(error) ?? {};
  if (typeof message !== 'string') return String(error);
  // fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause.
  const reason = asError(cause)?.message;
  return typeof reason === 'string' ? `${message}: ${reason}` : message;
}
