import type { EntityProperty, EventSubscriber, FlushEventArgs, TransactionEventArgs } from '@mikro-orm/core';
import type { EntityManager, GraphQLContext, Logger, ModuleCache, ModuleRuntime } from '@platform/kernel';
import { User } from './user.entity.js';
import { usersByIds } from './user.service.js';

/** A user as cached: its stored columns (never the password hash), dates as ISO strings. */
type Snapshot = Record<string, unknown>;

/**
 * Topics after which a user's cached row may be out of date: written by another process, or by a
 * statement the ORM does not see (a password change's `nativeUpdate` moves `updatedAt`).
 */
const USER_TOPICS = ['identity.user.*', 'identity.password.changed'];

/**
 * Users by id for `_entities` (other subgraphs' `User` references: a post's author, a role's
 * holder), from `runtime.cache` for `ttlSec`, so a page of posts by a few authors costs identity no
 * query once warm. Never stale after a change made here: every flush that changes a user drops it
 * from the cache as it is flushed (which also keeps a lookup racing the change from storing the old
 * row) and again once its transaction committed; changes made elsewhere (another process: a
 * command-line job) arrive as `identity.user.*` events. Only the reference path reads it: mutations
 * and `me` load the managed entity.
 */
export class UserCache {
  readonly #props: EntityProperty[];
  readonly #dates = new Set<string>();
  /** Users flushed in a transaction not yet committed, by transaction. */
  readonly #pending = new Map<unknown, Set<string>>();

  constructor(
    private readonly cache: ModuleCache,
    private readonly ttlSec: number,
    private readonly logger: Logger,
    meta: { props: EntityProperty[] },
  ) {
    this.#props = meta.props.filter((prop) => prop.kind === 'scalar' && !prop.lazy && prop.name !== 'passwordHash');
    for (const prop of this.#props) if (prop.runtimeType === 'Date') this.#dates.add(prop.name);
  }

  /** Watches identity's database and events; `ttlSec` 0 turns the cache off (every lookup a query). */
  static async attach(runtime: ModuleRuntime, ttlSec: number): Promise<UserCache> {
    const users = new UserCache(runtime.cache, ttlSec, runtime.logger, runtime.db.orm.getMetadata(User));
    if (ttlSec > 0) {
      runtime.db.orm.em.getEventManager().registerSubscriber(users.#subscriber());
      for (const topic of USER_TOPICS) {
        await runtime.bus.listen(topic, async (event) => {
          const userId = (event.payload as { userId?: unknown }).userId;
          if (typeof userId === 'string') await users.invalidate([userId]);
        });
      }
    }
    return users;
  }

  get enabled(): boolean {
    return this.ttlSec > 0;
  }

  /** Drops these users from the cache (here and on every instance). */
  async invalidate(ids: Iterable<string>): Promise<void> {
    const keys = [...new Set(ids)].map(keyOf);
    if (keys.length === 0) return;
    try {
      await this.cache.delete(...keys);
    } catch (error) {
      this.logger.error({ err: error, users: keys.length }, 'user cache: invalidation failed');
    }
  }

  /**
   * A user by id from the cache; the misses of one request (its DataLoader's batch: a whole
   * `_entities` call) are loaded together in one query through `em`, and stored.
   */
  load(ctx: GraphQLContext, id: string): Promise<User | null> {
    return ctx.loader<string, User | null>('User.cachedById', (ids) => this.#many(ctx.em, ids)).load(id);
  }

  async #many(em: EntityManager, ids: readonly string[]): Promise<Array<User | null>> {
    const snapshots = await this.cache.getOrLoadMany(
      ids.map(keyOf),
      async (missing) => {
        const users = await usersByIds(em, missing.map(idOf));
        // An unknown id is not stored: real references name real users, and random ones must not
        // push those out of process memory.
        return users.map((user) => (user ? this.#snapshot(user) : undefined));
      },
      { ttlSec: this.ttlSec },
    );
    return snapshots.map((snapshot) => (snapshot ? this.#revive(snapshot) : null));
  }

  #snapshot(user: User): Snapshot {
    const row = user as unknown as Record<string, unknown>;
    const snapshot: Snapshot = {};
    for (const { name } of this.#props) {
      const value = row[name];
      snapshot[name] = value instanceof Date ? value.toISOString() : (value ?? null);
    }
    return snapshot;
  }

  /** A detached `User` (not managed by any EntityManager: read-only use). */
  #revive(snapshot: Snapshot): User {
    const user = Object.create(User.prototype) as Record<string, unknown>;
    for (const [name, value] of Object.entries(snapshot)) {
      user[name] = this.#dates.has(name) && typeof value === 'string' ? new Date(value) : value;
    }
    return user as unknown as User;
  }

  #subscriber(): EventSubscriber {
    const changedUsers = (args: FlushEventArgs): string[] =>
      args.uow
        .getChangeSets()
        .filter((changeSet) => changeSet.entity instanceof User)
        .map((changeSet) => (changeSet.entity as User).id);
    return {
      onFlush: async (args) => {
        const ids = changedUsers(args);
        if (ids.length === 0) return;
        const transaction = args.em.getTransactionContext();
        if (transaction) {
          const pending = this.#pending.get(transaction) ?? new Set<string>();
          for (const id of ids) pending.add(id);
          this.#pending.set(transaction, pending);
        }
        await this.invalidate(ids);
      },
      afterFlush: async (args) => {
        // A flush outside a transaction commits as it ends.
        if (!args.em.getTransactionContext()) await this.invalidate(changedUsers(args));
      },
      afterTransactionCommit: async ({ transaction }: TransactionEventArgs) => {
        const pending = this.#pending.get(transaction);
        if (!pending) return;
        this.#pending.delete(transaction);
        // What a lookup read between the flush and the commit (the old row) is dropped too.
        await this.invalidate(pending);
      },
      afterTransactionRollback: ({ transaction }: TransactionEventArgs) => {
        this.#pending.delete(transaction);
      },
    };
  }
}

const KEY_PREFIX = 'user:';

function keyOf(id: string): string {
  return KEY_PREFIX + id;
}

function idOf(key: string): string {
  return key.slice(KEY_PREFIX.length);
}
