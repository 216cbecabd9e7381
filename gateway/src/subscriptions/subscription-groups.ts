import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import { EventStream, type CloseReason, type Logger } from '@platform/kernel';
import { UpstreamConnections, type UpstreamIdentity } from './upstream.js';

type Result = ExecutionResult | FormattedExecutionResult;

/** What a group's completed stream reports with each result, for the per-socket metrics. */
export interface Delivery {
  field: string;
  publishedAt: number | undefined;
}

interface Member {
  stream: EventStream<Result>;
  /** Closes the member's client socket (a subgraph refused the group's token). */
  closeSocket(reason: CloseReason): void;
  delivered(delivery: Delivery): void;
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
}

/**
 * Sockets whose callers are indistinguishable (the same token, address and agent, or guests from
 * the same address and agent) and who run the same subscription with the same variables get the
 * same answers, so they share one upstream subscription (with those credentials) and one
 * completion per event, fanned out to each socket. Anything that differs gets its own: users'
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
    member: Omit<Member, 'stream'>,
  ): EventStream<Result> {
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
      ...member,
      stream: new EventStream<Result>(() => this.#leave(key, joined, entry)),
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
        for (const member of group.members) {
          member.stream.push(step.value);
          if (group.last) member.delivered(group.last);
        }
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
