import type { ModuleDatabase } from '@platform/kernel';

/** How often a caller that waits for the lock tries again. */
const RETRY_MS = 250;

/** Prunes running in this process, by database (one per audit instance). */
const running = new WeakMap<ModuleDatabase, Promise<unknown>>();

/**
 * One prune at a time for an audit schema, whoever runs it: the retention job of every audit
 * instance and `platformctl audit prune`. Without it two instances pruning at once each archive
 * the same records (the loser's archive then names records no checkpoint covers, and two
 * processes with the same pid, as containers have, would write the same temporary file), even
 * though the chain lock lets only one of them delete.
 *
 * On PostgreSQL the lock is a transaction-level advisory lock, keyed by the schema, held for the
 * whole prune by a transaction of its own (a connection from the pool that does nothing else):
 * it goes with that transaction, so a process that dies mid-prune releases it. The prune's own
 * statements run on other connections, outside that transaction. The embedded database admits
 * one process (its data directory is locked), so there a lock within the process suffices: the
 * pool's one connection could not both hold a lock and run the prune.
 *
 * @returns `fn`'s value, or `{ busy: true }` when another prune holds the lock and `wait` is false.
 */
export async function withPruneLock<T>(
  db: ModuleDatabase,
  fn: () => Promise<T>,
  options: { wait: boolean },
): Promise<{ busy: false; value: T } | { busy: true }> {
  while (running.has(db)) {
    if (!options.wait) return { busy: true };
    await running.get(db);
  }
  let done!: () => void;
  running.set(db, new Promise<void>((resolve) => (done = resolve)));
  try {
    if (db.kind !== 'postgresql') return { busy: false, value: await fn() };
    for (;;) {
      const held = await holdAdvisoryLock(db);
      if (held) {
        try {
          return { busy: false, value: await fn() };
        } finally {
          await held.release();
        }
      }
      if (!options.wait) return { busy: true };
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  } finally {
    running.delete(db);
    done();
  }
}

/**
 * Takes the schema's prune lock in a transaction that stays open until `release()`; undefined
 * when another session holds it. The transaction is started here and awaited from outside its
 * callback, so the prune does not run in its context (and so not on its connection).
 */
async function holdAdvisoryLock(db: ModuleDatabase): Promise<{ release(): Promise<void> } | undefined> {
  let acquired!: (locked: boolean) => void;
  const decided = new Promise<boolean>((resolve) => (acquired = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const transaction = db.fork().transactional(async (tx) => {
    const [row] = await tx.execute<Array<{ locked: boolean }>>(
      `select pg_try_advisory_xact_lock(hashtext('audit.prune'), hashtext(?)) as locked`,
      [db.schema],
    );
    acquired(row?.locked === true);
    if (row?.locked === true) await released;
  });
  // A failure before the lock was decided (the database down) is the caller's.
  const locked = await Promise.race([decided, transaction.then(() => false)]);
  if (!locked) {
    await transaction;
    return undefined;
  }
  return {
    release: async () => {
      release();
      // A transaction that failed meanwhile (its connection lost) released the lock all the same.
      await transaction.catch(() => undefined);
    },
  };
}
