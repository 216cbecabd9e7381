import type { Logger } from 'pino';
import {
  assertGroup,
  assertMaxAttempts,
  DEFAULT_MAX_ATTEMPTS,
  errorMessage,
  InFlight,
  normalizeEvents,
  retryDelay,
  sleep,
  type DeadLetter,
  type EventBus,
  type EventHandler,
  type FailureListener,
  type RetryOptions,
  type SubscribeOptions,
  type Subscription,
} from './bus.js';
import { liveOnce, MemoryHandledEvents } from './live-once.js';
import { assertTopic, topicMatcher, type PlatformEvent } from './event.js';

interface Member {
  readonly bus: MemoryEventBus;
  readonly pattern: string;
  readonly matches: (topic: string) => boolean;
  readonly handler: EventHandler;
  readonly maxAttempts: number;
  readonly work: InFlight;
  readonly live: boolean;
  readonly onFailure?: FailureListener;
}

interface Group {
  readonly name: string;
  readonly members: Member[];
  /** Every pattern a member ever subscribed with: what the group keeps while it has no member. */
  readonly patterns: Map<string, (topic: string) => boolean>;
  readonly queue: PlatformEvent[];
  /** Wakes a retry waiting in backoff when the last member leaves; replaced after each use. */
  wake: AbortController;
  running: boolean;
  done: Promise<void>;
  turn: number;
  /** Events dropped because the group had no member and too many were waiting. */
  dropped: number;
  /** A member subscribed with `live`: the group's deliveries start before other groups'. */
  live: boolean;
}

interface Listener {
  readonly bus: MemoryEventBus;
  readonly matches: (topic: string) => boolean;
  readonly handler: EventHandler;
}

const DEAD_LETTERS_KEPT = 1000;
/** Most events a group without members keeps waiting for one; the oldest go first beyond it. */
export const MEMBERLESS_QUEUE_LIMIT = 100_000;

/**
 * What in-memory buses share: groups, listeners and dead letters. Every module of the
 * embedded platform runs in one process, so they share the process-wide broker and see each
 * other's events; tests make their own for isolation.
 *
 * A group outlives its members, as a Redis consumer group does: while a module is stopped
 * (restarting, or stopped on purpose) the events its group subscribed to wait for it, up to
 * {@link MEMBERLESS_QUEUE_LIMIT}, and are delivered once a member joins again.
 */
export class MemoryBroker {
  static readonly shared = new MemoryBroker();

  readonly #groups = new Map<string, Group>();
  /** The groups in the order their deliveries start: live ones first. Rebuilt when a group is added or turns live. */
  #deliveryOrder: Group[] = [];
  readonly #listeners = new Set<Listener>();
  readonly #deadLetters: DeadLetter[] = [];
  /** What live groups handled recently, for every bus of this broker (see `liveOnce`). */
  readonly handled = new MemoryHandledEvents();
  /** The logger of the last bus that handled an event, for the broker's own complaints. */
  #logger: Logger | undefined;

  /** The most recent dead letters (up to 1000), oldest first. */
  get deadLetters(): readonly DeadLetter[] {
    return this.#deadLetters;
  }

  /** @internal Enqueues to every interested group and listener; handlers run later, never in this stack. */
  enqueue(events: PlatformEvent[]): void {
    for (const event of events) {
      // Each group's delivery starts in its own turn, in this order.
      for (const group of this.#deliveryOrder) {
        if (![...group.patterns.values()].some((matches) => matches(event.topic))) continue;
        group.queue.push(event);
        if (group.members.length > 0) this.#schedule(group);
        else if (group.queue.length > MEMBERLESS_QUEUE_LIMIT && !group.running) this.#dropOldest(group);
      }
      for (const listener of this.#listeners) {
        if (listener.matches(event.topic)) listener.bus.notify(listener, event);
      }
    }
  }

  /** @internal */
  join(groupName: string, member: Member): () => Promise<void> {
    let group = this.#groups.get(groupName);
    if (!group) {
      group = {
        name: groupName,
        members: [],
        patterns: new Map(),
        queue: [],
        wake: new AbortController(),
        running: false,
        done: Promise.resolve(),
        turn: 0,
        dropped: 0,
        live: false,
      };
      this.#groups.set(groupName, group);
      this.#deliveryOrder.push(group);
    }
    group.members.push(member);
    if (member.live && !group.live) {
      group.live = true;
      this.#deliveryOrder = [...this.#groups.values()].sort((a, b) => Number(b.live) - Number(a.live));
    }
    if (!group.patterns.has(member.pattern)) group.patterns.set(member.pattern, member.matches);
    // What waited while the group had no member flows again.
    if (group.queue.length > 0) this.#schedule(group);
    const joined = group;
    return async () => {
      const index = joined.members.indexOf(member);
      if (index >= 0) joined.members.splice(index, 1);
      if (joined.members.length === 0) {
        // Nobody is left to handle what is queued: a retry waiting in backoff stops now, and its
        // event waits, first in line, for the next member.
        joined.wake.abort();
        joined.wake = new AbortController();
      }
    };
  }

  /** @internal */
  addListener(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @internal Resolves when the groups `bus` takes part in have nothing queued, or at the deadline. */
  async drain(bus: MemoryEventBus, deadline: number): Promise<void> {
    for (;;) {
      const busy = [...this.#groups.values()].find(
        (group) => (group.running || group.queue.length > 0) && group.members.some((member) => member.bus === bus),
      );
      const left = deadline - Date.now();
      if (!busy || left <= 0) return;
      const stop = new AbortController();
      await Promise.race([busy.done, sleep(left, stop.signal)]);
      stop.abort();
    }
  }

  #schedule(group: Group): void {
    if (group.running) return;
    group.running = true;
    group.done = new Promise((resolve) => {
      setImmediate(() => {
        void this.#pump(group).finally(resolve);
      });
    });
  }

  /** One event at a time per group, so each group sees events in publish order. */
  async #pump(group: Group): Promise<void> {
    try {
      while (group.queue.length > 0) {
        // The event stays queued while it is handled: if the last member leaves meanwhile, it waits.
        if ((await this.#deliver(group, group.queue[0]!)) === 'parked') break;
        group.queue.shift();
      }
    } finally {
      group.running = false;
    }
    if (group.queue.length > MEMBERLESS_QUEUE_LIMIT && group.members.length === 0) this.#dropOldest(group);
  }

  /** Keeps a group without members from growing without bound; loud, as this loses events. */
  #dropOldest(group: Group): void {
    const excess = group.queue.length - MEMBERLESS_QUEUE_LIMIT;
    group.queue.splice(0, excess);
    if (group.dropped === 0 || Math.floor(group.dropped / 1000) !== Math.floor((group.dropped + excess) / 1000)) {
      this.#logger?.error(
        { group: group.name, dropped: group.dropped + excess, limit: MEMBERLESS_QUEUE_LIMIT },
        'event group has had no member for too long; dropping its oldest events',
      );
    }
    group.dropped += excess;
  }

  /** @returns `parked` when the group has no member left to handle the event (it stays queued). */
  async #deliver(group: Group, event: PlatformEvent): Promise<'done' | 'parked'> {
    for (let attempt = 1; ; attempt++) {
      if (group.members.length === 0) return 'parked';
      // Members subscribed with other patterns drop what they do not match, as on Redis.
      const candidates = group.members.filter((member) => member.matches(event.topic));
      if (candidates.length === 0) return 'done';
      const member = candidates[group.turn++ % candidates.length]!;
      this.#logger = member.bus.logger;
      try {
        // A copy per delivery, as a real transport would give: handlers cannot see each other's edits.
        await member.work.run(() => member.handler(structuredClone(event)));
        return 'done';
      } catch (error) {
        const fields = { eventId: event.id, topic: event.topic, group: group.name, attempt, err: error };
        const dead = attempt >= member.maxAttempts;
        const logged = member.onFailure?.(error, { event, group: group.name, attempt, dead }) ?? false;
        if (dead) {
          if (!logged) member.bus.logger.error(fields, 'event handler failed for the last time; event dead-lettered');
          this.#deadLetters.push({
            event,
            group: group.name,
            error: errorMessage(error),
            attempts: attempt,
            failedAt: new Date().toISOString(),
          });
          if (this.#deadLetters.length > DEAD_LETTERS_KEPT) this.#deadLetters.shift();
          return 'done';
        }
        if (!logged) member.bus.logger.warn(fields, 'event handler failed; will retry');
        await sleep(retryDelay(attempt, member.bus.retry), group.wake.signal);
      }
    }
  }
}

export interface MemoryEventBusOptions {
  logger: Logger;
  /** Default: the process-wide broker, shared by every module in this process. */
  broker?: MemoryBroker;
  retry?: RetryOptions;
  /** How long `close()` lets queued events finish; default 5 s. */
  drainTimeoutMs?: number;
}

/**
 * The embedded event bus: delivery within one process, same semantics as the Redis bus
 * (groups, ordering per group, retries, dead letters) minus durability across restarts, which
 * the transactional outbox provides.
 */
export class MemoryEventBus implements EventBus {
  readonly kind = 'memory' as const;
  readonly broker: MemoryBroker;
  /** @internal */
  readonly logger: Logger;
  /** @internal */
  readonly retry: RetryOptions;
  readonly #drainTimeoutMs: number;
  readonly #subscriptions = new Set<Subscription>();
  readonly #listening = new InFlight();
  #closed: Promise<void> | undefined;

  constructor(options: MemoryEventBusOptions) {
    this.logger = options.logger.child({ component: 'event-bus', bus: 'memory' });
    this.broker = options.broker ?? MemoryBroker.shared;
    this.retry = options.retry ?? {};
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 5000;
  }

  /** Events that exhausted their attempts, on this bus's broker. */
  get deadLetters(): readonly DeadLetter[] {
    return this.broker.deadLetters;
  }

  async publish(events: PlatformEvent | PlatformEvent[]): Promise<void> {
    this.#assertOpen();
    const list = normalizeEvents(events);
    for (const event of list) assertTopic(event.topic);
    this.broker.enqueue(list.map((event) => structuredClone(event)));
  }

  async subscribe(pattern: string, handler: EventHandler, options: SubscribeOptions): Promise<Subscription> {
    this.#assertOpen();
    const matches = topicMatcher(pattern);
    assertGroup(options.group);
    const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    assertMaxAttempts(maxAttempts);
    const member: Member = {
      bus: this,
      pattern,
      matches,
      handler: options.live ? liveOnce(handler, options.group, this.broker.handled, this.logger) : handler,
      maxAttempts,
      work: new InFlight(),
      live: options.live === true,
      onFailure: options.onFailure,
    };
    const leave = this.broker.join(options.group, member);
    let closing: Promise<void> | undefined;
    const subscription: Subscription = {
      close: () => {
        closing ??= (async () => {
          this.#subscriptions.delete(subscription);
          await leave();
          await member.work.idle(this.#drainTimeoutMs);
        })();
        return closing;
      },
    };
    this.#subscriptions.add(subscription);
    return subscription;
  }

  async listen(pattern: string, handler: EventHandler): Promise<Subscription> {
    this.#assertOpen();
    const remove = this.broker.addListener({ bus: this, matches: topicMatcher(pattern), handler });
    const subscription: Subscription = {
      close: async () => {
        remove();
        this.#subscriptions.delete(subscription);
      },
    };
    this.#subscriptions.add(subscription);
    return subscription;
  }

  /** In-process state cannot be lost without losing the process, so there is never a reset. */
  onReset(_listener: () => void): () => void {
    return () => {};
  }

  /** @internal Runs a listener outside the publisher's stack; failures are logged, not retried. */
  notify(listener: Listener, event: PlatformEvent): void {
    void this.#listening.run(
      () =>
        new Promise<void>((resolve) => {
          setImmediate(() => {
            Promise.resolve()
              .then(() => listener.handler(structuredClone(event)))
              .catch((error: unknown) =>
                this.logger.warn({ eventId: event.id, topic: event.topic, err: error }, 'event listener failed'),
              )
              .finally(resolve);
          });
        }),
    );
  }

  /** Lets queued events finish (bounded by `drainTimeoutMs`), then leaves every group. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.broker.drain(this, Date.now() + this.#drainTimeoutMs);
      await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
      await this.#listening.idle(this.#drainTimeoutMs);
    })();
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('The event bus is closed');
  }
}
