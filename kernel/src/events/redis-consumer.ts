import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { disconnectRedis, reconnectDelay } from '../redis.js';
import {
  errorMessage,
  InFlight,
  retryDelay,
  sleep,
  type EventHandler,
  type FailureListener,
  type RetryOptions,
} from './bus.js';
import type { PlatformEvent } from './event.js';

/** One stream entry as Redis returns it: id and flat field/value list. */
export type StreamEntry = [id: string, fields: string[]];

/** @internal Everything one consumer loop needs; the bus owns the shared pieces. */
export interface ConsumerOptions {
  commands: Redis;
  /** This consumer's own connection: `XREADGROUP BLOCK` holds it. */
  reader: Redis;
  stream: string;
  deadStream: string;
  group: string;
  consumer: string;
  matches: (topic: string) => boolean;
  handler: EventHandler;
  /** Hears each failed delivery (see SubscribeOptions.onFailure). */
  onFailure?: FailureListener;
  maxAttempts: number;
  retry: RetryOptions;
  claimIdleMs: number;
  blockMs: number;
  batchSize: number;
  logger: Logger;
  /** The group or stream vanished under us: Redis lost data. */
  onStreamLost: () => void;
}

export function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Runs a MULTI and throws the first command error, since `exec` reports them per command. */
export async function execOrThrow(multi: ChainableCommander): Promise<unknown[]> {
  const replies = await multi.exec();
  if (!replies) throw new Error('Redis transaction aborted');
  return replies.map(([error, result]) => {
    if (error) throw error;
    return result;
  });
}

const isNoGroup = (error: unknown): boolean => /NOGROUP|no longer exists/i.test((error as Error)?.message ?? '');

/**
 * The read loop of one subscription: new entries with `XREADGROUP >`, its own failed entries
 * retried after their backoff with `XCLAIM`, entries of dead consumers taken over with
 * `XAUTOCLAIM`, and the delivery count deciding when an entry goes to the dead letter.
 * Entries are handled one at a time.
 */
export class StreamConsumer {
  readonly #o: ConsumerOptions;
  readonly #work = new InFlight();
  readonly #wake = new AbortController();
  /** Failed entries of this consumer: id → when to retry and the backoff that must have elapsed. */
  readonly #retries = new Map<string, { dueAt: number; delay: number }>();
  #claimCursor = '0-0';
  #nextClaimAt = 0;
  #loop: Promise<void> | undefined;
  #stopping = false;
  #reading = false;
  #deadline = Infinity;

  constructor(options: ConsumerOptions) {
    this.#o = options;
  }

  /** Creates the group from the start of the stream, so a new group catches up on retained events. */
  async ensureGroup(): Promise<void> {
    try {
      await this.#o.commands.xgroup('CREATE', this.#o.stream, this.#o.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!/BUSYGROUP/.test((error as Error).message)) throw error;
    }
  }

  start(groupReady: boolean): void {
    this.#loop = this.#run(groupReady);
  }

  /** Stops reading, lets the entry in hand finish (bounded), then leaves the group if it owes nothing. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#deadline = Date.now() + timeoutMs;
    this.#wake.abort();
    const interrupted = this.#reading ? disconnectRedis(this.#o.reader) : undefined;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      (this.#loop ?? Promise.resolve()).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    await interrupted;
    await disconnectRedis(this.#o.reader);
    if (!finished) {
      this.#o.logger.warn({ group: this.#o.group }, 'event handler still running at close; its entry stays pending');
      return;
    }
    try {
      const owed = await this.#o.commands.xpending(this.#o.stream, this.#o.group, '-', '+', 1, this.#o.consumer);
      if (owed.length === 0)
        await this.#o.commands.xgroup('DELCONSUMER', this.#o.stream, this.#o.group, this.#o.consumer);
    } catch (error) {
      this.#o.logger.debug({ err: error }, 'could not remove the consumer from its group');
    }
  }

  async #run(groupReady: boolean): Promise<void> {
    let failures = 0;
    let needGroup = !groupReady;
    while (!this.#stopping) {
      try {
        if (needGroup) {
          await this.ensureGroup();
          needGroup = false;
        }
        await this.#retryDue();
        await this.#claimAbandoned();
        if (this.#stopping) break;
        for (const entry of await this.#read()) {
          if (this.#stopping && Date.now() > this.#deadline) break;
          await this.#handle(entry, 1);
        }
        failures = 0;
      } catch (error) {
        if (this.#stopping) break;
        failures++;
        needGroup = true;
        if (isNoGroup(error)) {
          this.#o.logger.warn({ group: this.#o.group }, 'event stream or group vanished; recreating it');
          this.#retries.clear();
          this.#claimCursor = '0-0';
          this.#o.onStreamLost();
        } else {
          const level = failures === 1 ? 'warn' : 'debug';
          this.#o.logger[level]({ err: error, group: this.#o.group, failures }, 'event read loop failed; backing off');
        }
        // Never a tight loop: even an immediately repeating error waits, longer each time.
        await sleep(reconnectDelay(failures), this.#wake.signal);
      }
    }
  }

  async #read(): Promise<StreamEntry[]> {
    const now = Date.now();
    let until = Math.min(now + this.#o.blockMs, this.#nextClaimAt);
    for (const { dueAt } of this.#retries.values()) until = Math.min(until, dueAt);
    const block = Math.max(1, until - now);
    const { reader, group, consumer, batchSize, stream } = this.#o;
    this.#reading = true;
    try {
      const args = ['GROUP', group, consumer, 'COUNT', batchSize, 'BLOCK', block, 'STREAMS', stream, '>'];
      const reply = (await reader.call('XREADGROUP', args)) as Array<[string, StreamEntry[]]> | null;
      return reply?.[0]?.[1] ?? [];
    } finally {
      this.#reading = false;
    }
  }

  /** Retries this consumer's failed entries whose backoff elapsed; `XCLAIM` counts the delivery. */
  async #retryDue(): Promise<void> {
    const now = Date.now();
    const due = [...this.#retries].filter(([, retry]) => retry.dueAt <= now);
    if (due.length === 0) return;
    const { commands, stream, group, consumer } = this.#o;
    const claim = commands.multi();
    for (const [id, { delay }] of due) {
      this.#retries.delete(id);
      // Idle at least the backoff: if another consumer took the entry meanwhile, this claims nothing.
      claim.xclaim(stream, group, consumer, delay, id);
    }
    const claimed = (await execOrThrow(claim)).flat() as Array<StreamEntry | null>;
    await this.#handleClaimed(claimed);
  }

  /** Takes over entries a dead (or stuck) consumer left pending longer than `claimIdleMs`. */
  async #claimAbandoned(): Promise<void> {
    if (Date.now() < this.#nextClaimAt) return;
    const { commands, stream, group, consumer, claimIdleMs, batchSize } = this.#o;
    const reply = (await commands.xautoclaim(
      stream,
      group,
      consumer,
      claimIdleMs,
      this.#claimCursor,
      'COUNT',
      batchSize,
    )) as [string, Array<StreamEntry | null>];
    this.#claimCursor = reply[0];
    // Scan the rest of the pending list on the next turn; once through, wait for the next round.
    if (this.#claimCursor === '0-0') this.#nextClaimAt = Date.now() + Math.max(50, Math.min(claimIdleMs / 2, 15_000));
    const entries = reply[1];
    for (const entry of entries) if (entry) this.#retries.delete(entry[0]);
    if (entries.some(Boolean)) {
      this.#o.logger.info({ group, count: entries.filter(Boolean).length }, 'claimed events left by another consumer');
    }
    await this.#handleClaimed(entries);
  }

  async #handleClaimed(entries: Array<StreamEntry | null>): Promise<void> {
    const live = entries.filter((entry): entry is StreamEntry => Array.isArray(entry) && Array.isArray(entry[1]));
    if (live.length === 0) return;
    const { commands, stream, group, maxAttempts } = this.#o;
    const counts = commands.pipeline();
    for (const [id] of live) counts.xpending(stream, group, id, id, 1);
    const pending = (await execOrThrow(counts)) as Array<Array<[string, string, number, number]>>;
    for (const [index, entry] of live.entries()) {
      if (this.#stopping && Date.now() > this.#deadline) return;
      const deliveries = pending[index]?.[0]?.[3];
      if (deliveries === undefined) continue; // acknowledged meanwhile
      if (deliveries > maxAttempts) {
        const error = `delivered ${deliveries - 1} times without being acknowledged`;
        await this.#deadLetter(entry, error, deliveries - 1);
      } else {
        await this.#handle(entry, deliveries);
      }
    }
  }

  async #handle(entry: StreamEntry, attempt: number): Promise<void> {
    const [id, fields] = entry;
    const { commands, stream, group, matches, handler, maxAttempts, logger } = this.#o;
    const topic = fieldOf(fields, 'topic');
    if (topic !== undefined && !matches(topic)) {
      await commands.xack(stream, group, id);
      return;
    }
    let event: PlatformEvent;
    try {
      event = JSON.parse(fieldOf(fields, 'event') ?? '') as PlatformEvent;
    } catch {
      await this.#deadLetter(entry, 'malformed stream entry: the event field is not JSON', attempt);
      return;
    }
    if (topic === undefined && !matches(event.topic)) {
      await commands.xack(stream, group, id);
      return;
    }
    try {
      await this.#work.run(() => handler(event));
    } catch (error) {
      const log = { eventId: event.id, topic: event.topic, group, attempt, err: error };
      const dead = attempt >= maxAttempts;
      const logged = this.#o.onFailure?.(error, { event, group, attempt, dead }) ?? false;
      if (dead) {
        await this.#deadLetter(entry, errorMessage(error), attempt);
        return;
      }
      if (!logged) logger.warn(log, 'event handler failed; will retry');
      const delay = retryDelay(attempt, this.#o.retry);
      this.#retries.set(id, { dueAt: Date.now() + delay, delay });
      return;
    }
    await commands.xack(stream, group, id);
  }

  async #deadLetter([id, fields]: StreamEntry, error: string, attempts: number): Promise<void> {
    const { commands, stream, deadStream, group, consumer, logger } = this.#o;
    const topic = fieldOf(fields, 'topic') ?? '';
    const record = {
      topic,
      event: fieldOf(fields, 'event') ?? '',
      group,
      consumer,
      error: error.slice(0, 4000),
      attempts: String(attempts),
      streamId: id,
      failedAt: new Date().toISOString(),
    };
    // Recorded and acknowledged together: never acknowledged without a trace, never recorded twice.
    await execOrThrow(
      commands
        .multi()
        .xadd(deadStream, '*', ...Object.entries(record).flat())
        .xack(stream, group, id),
    );
    logger.error(
      { streamId: id, topic, group, attempts, error: record.error },
      'event handler failed for the last time; event dead-lettered',
    );
  }
}
