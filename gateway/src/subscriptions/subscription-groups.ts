import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import { EventStream, type CloseReason, type Logger } from '@platform/kernel';
import { UpstreamConnections, type UpstreamIdentity } from './upstream.js';

type Result = ExecutionResult | FormattedExecutionResult;

/** What a group's completed stream reports with each result, for the per-socket metrics. */
export interface Delivery {
  field: string;
  publishedAt: number | undefined;
}

/** One socket's subscription in a group. */
export interface GroupMember {
  /** Writes one serialized result to the member's socket as a `next` frame of its operation; false if not written. */
  send(payload: string): boolean;
  /** Closes the member's client socket (a subgraph refused the group's token). */
  closeSocket(reason: CloseReason): void;
}

interface Member extends GroupMember {
  /** Carries no values (frames go through `send`): it only ends, with the group or when the member leaves. */
  stream: EventStream<never>;
}

interface Group {
  readonly members: Set<Member>;
  readonly upstream: UpstreamConnections;
  source: AsyncIterableIterator<Result> | undefined;
  last: Delivery | undefined;
}

export interface SubscriptionGroupsOptions {
  /** Subgraph name → GraphQL URL. */
  urls: Readonly<Record<string, string>>;
  logger: Logger;
  keepAliveMs: number;
  onSocket(delta: 1 | -1): void;
  /** The payload every member's `next` frame carries for `result` (masked and serialized once per event). */
  serialize(result: Result): string;
  /** Told once per event of how many sockets it was written to, and how long the writes took (after them). */
  delivered(delivery: Delivery | undefined, sockets: number, writeSeconds: number): void;
}

/**
 * Sockets whose callers are indistinguishable (the same token, address and agent, or guests from
 * the same address and agent) and who run the same subscription with the same variables get the
 * same answers, so they share one upstream subscription (with those credentials) and one
 * completion per event, fanned out to each socket: the result is serialized once and the same
 * bytes are written to every member's socket synchronously (see frames.ts), with no per-socket
 * promise, formatting or stringify. Anything that differs gets its own: users'
 * credentials and permissions never mix. A group ends with its last member.
 */
export class SubscriptionGroups {
  readonly #groups = new Map<string, Group>();
  readonly #options: SubscriptionGroupsOptions;

  constructor(options: SubscriptionGroupsOptions) {
    this.#options = options;
  }

  /** Groups running (each holds at most one upstream socket per subgraph). */
  get size(): number {
    return this.#groups.size;
  }

  /**
   * A member's stream of the group `key`; the first member starts it with `start`, which runs
   * the subscription over the group's upstream connections and reports each result's delivery.
   */
  join(
    key: string,
    identity: UpstreamIdentity,
    start: (upstream: UpstreamConnections, report: (delivery: Delivery) => void) => AsyncIterableIterator<Result>,
    member: GroupMember,
  ): EventStream<never> {
    let group = this.#groups.get(key);
    const isNew = !group;
    if (!group) {
      const members = new Set<Member>();
      const upstream = new UpstreamConnections({
        identity,
        urls: this.#options.urls,
        logger: this.#options.logger,
        keepAliveMs: this.#options.keepAliveMs,
        onSocket: this.#options.onSocket,
        onFatalClose: (code, reason) => {
          for (const each of [...members]) each.closeSocket({ code, reason } as CloseReason);
        },
      });
      group = { members, upstream, source: undefined, last: undefined };
      this.#groups.set(key, group);
    }
    const joined = group;
    const entry: Member = {
      send: member.send,
      closeSocket: member.closeSocket,
      stream: new EventStream<never>(() => this.#leave(key, joined, entry)),
    };
    joined.members.add(entry);
    if (isNew) {
      joined.source = start(joined.upstream, (delivery) => (joined.last = delivery));
      void this.#pump(key, joined);
    }
    return entry.stream;
  }

  async #pump(key: string, group: Group): Promise<void> {
    const source = group.source!;
    try {
      for (;;) {
        const step = await source.next();
        if (step.done) break;
        const started = performance.now();
        const payload = this.#options.serialize(step.value);
        let sent = 0;
        for (const member of group.members) if (member.send(payload)) sent++;
        this.#options.delivered(group.last, sent, (performance.now() - started) / 1000);
        group.last = undefined;
      }
    } catch (error) {
      this.#options.logger.error({ err: error }, 'subscription group failed');
    }
    // The subscription ended (completed, refused, or its source went away): so does every member's.
    for (const member of [...group.members]) member.stream.end();
    await this.#close(key, group);
  }

  #leave(key: string, group: Group, member: Member): void {
    group.members.delete(member);
    if (group.members.size === 0) void this.#close(key, group);
  }

  async #close(key: string, group: Group): Promise<void> {
    if (this.#groups.get(key) === group) this.#groups.delete(key);
    const source = group.source;
    group.source = undefined;
    await source?.return?.();
    await group.upstream.close();
  }
}
