import type { SqlEntityManager } from '@mikro-orm/sql';
import type { Logger } from 'pino';
import type { ModuleDatabase } from '../database/database.js';
import { errorMessage, normalizeEvents, sleep, type EventBus } from './bus.js';
import { assertTopic, createEvent, type EventMeta, type PlatformEvent } from './event.js';
import { quoteIdent } from './handle-once.js';
import { backoffDelay } from '../retry/backoff.js';

const HOUR_MS = 60 * 60 * 1000;

/** Events a transaction recorded and claimed for this process: its relay publishes them when it commits. */
const recordedIn = new WeakMap<object, PlatformEvent[]>();
/**
 * Savepoints (nested transactions) that recorded events, unclaimed: a savepoint's release is not
 * the commit, and its transaction cannot be told from it, so those rows wait for the relay's next
 * poll, which the next commit of the same ORM starts.
 */
const recordedInSavepoint = new WeakSet<object>();
/** Schema → the running relays of this process (the first one's claim lease is used when recording). */
const relaysBySchema = new Map<string, Set<OutboxRelay>>();

export { eventMigrations } from './migrations/index.js';

/**
 * Writes events to the module's outbox through `em`. Call it inside the transaction that makes
 * the change: the events then exist exactly when the change commits, and are published after it.
 * With a relay running for the schema in this process (a module's service always has one), the
 * rows are claimed for it as they are written: its relay publishes them from memory the moment the
 * transaction commits (no poll: the insert returned them), then marks them published; other relays leave
 * claimed rows alone until the claim lapses (`claimLeaseMs`), so a process that dies in between
 * only delays its events. Events recorded in a nested transaction (a savepoint) are not claimed:
 * the relay polls for them right after the next commit. Callers need not `kick()` anything.
 */
export async function recordEvents(
  em: SqlEntityManager,
  schema: string,
  events: PlatformEvent | PlatformEvent[],
): Promise<void> {
  const list = normalizeEvents(events);
  if (list.length === 0) return;
  const transaction = em.getTransactionContext<object>();
  const savepoint = transaction !== undefined && 'savepointName' in transaction;
  const [relay] = savepoint ? [] : (relaysBySchema.get(schema) ?? []);
  const values: unknown[] = [];
  for (const event of list) {
    assertTopic(event.topic);
    values.push(
      event.id,
      event.topic,
      event.source,
      JSON.stringify(event.payload),
      JSON.stringify(event.meta ?? {}),
      event.occurredAt,
      relay?.claimLeaseMs ?? null,
    );
  }
  // The claim runs from the insert itself (clock_timestamp, not the transaction's start).
  const row = "(?, ?, ?, ?::jsonb, ?::jsonb, ?::timestamptz, clock_timestamp() + ?::int * interval '1 millisecond')";
  const insert = `insert into ${quoteIdent(schema)}.outbox (id, topic, source, payload, meta, occurred_at, claimed_until) values ${list.map(() => row).join(', ')}`;
  if (!relay) {
    await em.execute(insert, values, 'run');
    if (savepoint) recordedInSavepoint.add(transaction);
    return;
  }
  // Read back as the relay would read them, so a handed-off event equals a polled one.
  const rows = await em.execute<OutboxRow[]>(`${insert} returning ${COLUMNS}`, values);
  const claimed = rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(toEvent);
  if (!transaction) {
    relay.handOff(claimed); // autocommitted: already durable
    return;
  }
  const pending = recordedIn.get(transaction);
  if (pending) pending.push(...claimed);
  else recordedIn.set(transaction, claimed);
}

export interface OutboxRelayOptions {
  db: ModuleDatabase;
  bus: EventBus;
  logger: Logger;
  /**
   * Fallback poll for rows no commit of this process announced (another replica's, left behind
   * when it stopped; a retry): default 500 ms on PostgreSQL, 5 s on the embedded PGlite, which
   * only this process writes (its polls would run on the main thread, 8 a second for 4 modules).
   */
  pollIntervalMs?: number;
  batchSize?: number;
  /** Published rows are deleted after this; default 7 days. */
  publishedRetentionMs?: number;
  /** After the bus reports data loss, rows published this recently are sent again; default 1 h. */
  replayWindowMs?: number;
  /** Longest wait between attempts while the bus or the database fails; default 30 s. */
  maxBackoffMs?: number;
  /**
   * How long rows recorded in this process stay claimed for its relay (see `recordEvents`):
   * past it, any relay publishes them. Default 30 s: how late a dead process's last events can be.
   */
  claimLeaseMs?: number;
  /** How often published rows past retention are deleted; default 10 min. */
  cleanupIntervalMs?: number;
}

interface OutboxRow {
  id: string;
  seq: number | string;
  topic: string;
  source: string;
  payload: Record<string, unknown>;
  meta: PlatformEvent['meta'];
  occurred_at: string;
}

const COLUMNS =
  'id, seq, topic, source, payload, meta, ' +
  `to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as occurred_at`;

const toEvent = (row: OutboxRow): PlatformEvent => ({
  id: row.id,
  topic: row.topic,
  source: row.source,
  occurredAt: row.occurred_at,
  payload: row.payload,
  meta: row.meta ?? {},
});

/**
 * Moves committed outbox rows to the event bus: at-least-once, never dropping a row while the bus
 * is down. Rows this process recorded are handed over at their commit and published in commit
 * order; the rest (another replica's that lapsed, retries after a failure) are polled for in
 * `occurred_at` order. On PostgreSQL replicas share the polled work through `for update skip
 * locked`; PGlite has one process, so a plain read suffices.
 */
export class OutboxRelay {
  readonly #db: ModuleDatabase;
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #table: string;
  readonly #pollIntervalMs: number;
  readonly #batchSize: number;
  readonly #retentionMs: number;
  readonly #replayWindowMs: number;
  readonly #maxBackoffMs: number;
  readonly #cleanupIntervalMs: number;
  readonly claimLeaseMs: number;
  /** Hand-offs in progress, one after the other (commit order). */
  #handOffs: Promise<void> = Promise.resolve();
  #loop: Promise<void> | undefined;
  #wake: AbortController | undefined;
  #stopping = false;
  #kicked = false;
  #failures = 0;
  #replayRequested = false;
  #nextCleanupAt = 0;
  #unsubscribeReset: (() => void) | undefined;
  #watchingCommits = false;
  /** A savepoint recorded events: the next commit (likely its transaction's) starts a poll. */
  #kickAtCommit = false;

  constructor(options: OutboxRelayOptions) {
    this.#db = options.db;
    this.#bus = options.bus;
    this.#logger = options.logger.child({ component: 'outbox-relay' });
    this.#table = `${quoteIdent(options.db.schema)}.outbox`;
    this.#pollIntervalMs = options.pollIntervalMs ?? (options.db.kind === 'pglite' ? 5000 : 500);
    this.#batchSize = options.batchSize ?? 100;
    this.#retentionMs = options.publishedRetentionMs ?? 7 * 24 * HOUR_MS;
    this.#replayWindowMs = options.replayWindowMs ?? HOUR_MS;
    this.#maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.#cleanupIntervalMs = options.cleanupIntervalMs ?? 10 * 60_000;
    this.claimLeaseMs = options.claimLeaseMs ?? 30_000;
  }

  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#unsubscribeReset = this.#bus.onReset?.(() => {
      this.#replayRequested = true;
      this.kick();
    });
    const relays = relaysBySchema.get(this.#db.schema) ?? new Set();
    relaysBySchema.set(this.#db.schema, relays.add(this));
    if (!this.#watchingCommits) {
      // MikroORM cannot unregister a subscriber; a stopped relay just ignores the calls.
      this.#watchingCommits = true;
      this.#db.orm.em.getEventManager().registerSubscriber({
        afterTransactionCommit: ({ transaction }) => {
          if (!this.#loop || !transaction) return;
          if (recordedInSavepoint.has(transaction)) this.#kickAtCommit = true;
          else if (this.#kickAtCommit && !('savepointName' in transaction)) {
            this.#kickAtCommit = false;
            this.kick();
          }
          const events = recordedIn.get(transaction);
          if (!events) return;
          recordedIn.delete(transaction); // another relay of this ORM (a test's second replica) must not take them too
          this.handOff(events);
        },
      });
    }
    this.#loop = this.#run();
  }

  /**
   * Publishes events this process recorded (claimed) and committed, after those handed over
   * before them, then marks them published. If the bus refuses them, their claim is released and
   * the relay's loop retries them with its backoff.
   */
  handOff(events: PlatformEvent[]): void {
    this.#handOffs = this.#handOffs.then(() => this.#publishClaimed(events));
  }

  async #publishClaimed(events: PlatformEvent[]): Promise<void> {
    const ids = events.map((event) => event.id);
    try {
      await this.#bus.publish(events);
    } catch (error) {
      this.#logger.warn({ err: error, events: ids.length }, 'outbox hand-off failed, the relay retries');
      await this.#markFailed(this.#db.fork(), ids, error).catch((failure: unknown) =>
        this.#logger.warn(
          { err: failure },
          'could not release claimed outbox rows; they are retried when the claim lapses',
        ),
      );
      this.kick();
      return;
    }
    await this.#markPublished(this.#db.fork(), ids).catch((failure: unknown) =>
      this.#logger.warn(
        { err: failure },
        'could not mark handed-off events published; they are sent again when the claim lapses',
      ),
    );
  }

  /** Publishes soon: call it right after committing events, so latency is not the poll interval. */
  kick(): void {
    this.#kicked = true;
    // While failing, a kick would only add load to whatever is down; the backoff decides.
    if (this.#failures === 0) this.#wake?.abort();
  }

  /** Stops polling; the batch in progress finishes first. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.abort();
    this.#unsubscribeReset?.();
    this.#unsubscribeReset = undefined;
    relaysBySchema.get(this.#db.schema)?.delete(this);
    await this.#loop;
    await this.#handOffs;
    this.#loop = undefined;
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      this.#kicked = false;
      let delay = this.#pollIntervalMs;
      try {
        if (this.#replayRequested) {
          this.#replayRequested = false;
          try {
            await this.#replay();
          } catch (error) {
            this.#replayRequested = true;
            throw error;
          }
        }
        const sent = await this.#publishBatch();
        if (sent === this.#batchSize) delay = 0;
        if (Date.now() >= this.#nextCleanupAt) {
          await this.#cleanup();
          this.#nextCleanupAt = Date.now() + this.#cleanupIntervalMs;
        }
        if (this.#failures > 0) this.#logger.info({ failures: this.#failures }, 'outbox relay recovered');
        this.#failures = 0;
      } catch (error) {
        this.#failures++;
        const backoff = backoffDelay(this.#failures, { baseMs: this.#pollIntervalMs, maxMs: this.#maxBackoffMs });
        delay = Math.round(backoff / 2 + (Math.random() * backoff) / 2);
        const level = this.#failures === 1 || this.#failures % 20 === 0 ? 'warn' : 'debug';
        this.#logger[level]({ err: error, failures: this.#failures, retryInMs: delay }, 'outbox relay failed');
      }
      if (this.#stopping || delay === 0 || (this.#kicked && this.#failures === 0)) continue;
      this.#wake = new AbortController();
      // Unreferenced: an idle relay never keeps the process alive on its own.
      await sleep(delay, this.#wake.signal, false);
      this.#wake = undefined;
    }
  }

  /** One batch; returns how many rows it sent. Throws when the bus refused them. */
  async #publishBatch(): Promise<number> {
    const select =
      `select ${COLUMNS} from ${this.#table} where published_at is null` +
      ' and (claimed_until is null or claimed_until < now()) order by occurred_at, seq limit ?' +
      (this.#db.kind === 'postgresql' ? ' for update skip locked' : '');
    const send = async (em: SqlEntityManager): Promise<{ sent: number; error?: unknown }> => {
      const rows = await em.execute<OutboxRow[]>(select, [this.#batchSize]);
      if (rows.length === 0) return { sent: 0 };
      const ids = rows.map((row) => row.id);
      try {
        await this.#bus.publish(rows.map(toEvent));
      } catch (error) {
        await this.#markFailed(em, ids, error);
        return { sent: 0, error };
      }
      await this.#markPublished(em, ids);
      return { sent: rows.length };
    };
    const em = this.#db.fork();
    const result = this.#db.kind === 'postgresql' ? await em.transactional(send) : await send(em);
    if (result.error) throw result.error;
    return result.sent;
  }

  /** Kept (unclaimed) for the relay's next attempt, with a trace of why they are late. */
  async #markFailed(em: SqlEntityManager, ids: string[], error: unknown): Promise<void> {
    await em.execute(
      `update ${this.#table} set claimed_until = null, attempts = attempts + 1, last_error = ? where id in (?)`,
      [errorMessage(error).slice(0, 2000), ids],
      'run',
    );
  }

  async #markPublished(em: SqlEntityManager, ids: string[]): Promise<void> {
    await em.execute(
      `update ${this.#table} set published_at = now(), claimed_until = null, last_error = null where id in (?)`,
      [ids],
      'run',
    );
  }

  /**
   * Re-sends what was published recently; consumers are idempotent by event id. "Recently" by
   * the database's clock, like the times it compares (so for every instance alike).
   */
  async #replay(): Promise<void> {
    let after = '0';
    let total = 0;
    for (;;) {
      const rows = await this.#db.fork().execute<OutboxRow[]>(
        `select ${COLUMNS} from ${this.#table} where published_at >= now() - ?::float8 * interval '1 millisecond' and seq > ?
           order by seq limit ?`,
        [this.#replayWindowMs, after, this.#batchSize],
      );
      if (rows.length > 0) await this.#bus.publish(rows.map(toEvent));
      total += rows.length;
      if (rows.length < this.#batchSize || this.#stopping) break;
      after = String(rows.at(-1)!.seq);
    }
    this.#logger.warn(
      { events: total, windowMs: this.#replayWindowMs },
      'outbox replayed recent events after bus data loss',
    );
  }

  /**
   * Deletes published rows past retention, in chunks so no statement holds locks for long. Every
   * instance's relay does, by the database's clock: one instance whose clock ran ahead would
   * otherwise delete for all what a replay after Redis lost data still needs.
   */
  async #cleanup(): Promise<void> {
    const chunk = 1000;
    for (let deleted = chunk; deleted === chunk && !this.#stopping;) {
      const result = await this.#db.fork().execute<{ affectedRows: number }>(
        `delete from ${this.#table} where id in
           (select id from ${this.#table} where published_at < now() - ?::float8 * interval '1 millisecond' limit ?)`,
        [this.#retentionMs, chunk],
        'run',
      );
      deleted = result.affectedRows;
    }
  }
}

/**
 * Recording events in a module's outbox: what a module sees as `ModuleEvents` (module/define.ts),
 * declared here so the events layer does not import the module framework above it.
 */
/** Publishing from a module (`runtime.events`): events are written with the change and relayed after the commit. */
export interface ModuleEvents {
  /**
   * Records an event in the module's outbox through `em`, inside the caller's transaction: it
   * is published only if (and as soon as) that transaction commits.
   */
  record(em: SqlEntityManager, topic: string, payload: object, meta?: Partial<EventMeta>): Promise<void>;
}

/** A module's side of the outbox: events recorded through the caller's EntityManager, as `source`. */
export function outboxRecorder(source: string, db: Pick<ModuleDatabase, 'schema'>): ModuleEvents {
  return {
    record: (em, topic, payload, meta) =>
      recordEvents(em, db.schema, createEvent(source, topic, payload as Record<string, unknown>, meta)),
  };
}
