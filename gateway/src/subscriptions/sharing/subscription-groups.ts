import type { FormattedExecutionResult } from 'graphql';
import type { Logger } from '@platform/kernel';
import type { CloseReason } from '@platform/kernel/gateway';
import type { Delivery } from '../delivery.js';
import { UNAVAILABLE, UpstreamConnections, type UpstreamIdentity } from '../upstream.js';
import {
  BRIDGE_MS,
  CARRIERS,
  CarrierState,
  Group,
  Member,
  type Carrier,
  type GroupMember,
  type GroupSpec,
  type Membership,
  type Result,
  type StartCarrier,
} from './group-state.js';

export type { Carrier, GroupMember, GroupSpec, Membership, StartCarrier } from './group-state.js';

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
 * Subscriptions that get the same answers share one upstream subscription and one completion per
 * event, fanned out to each member's socket: the result is serialized once and the same bytes are
 * written to every member's socket synchronously (see frames.ts), with no per-socket promise,
 * formatting or stringify. Which subscriptions share is the caller's decision (the group key and
 * `GroupSpec`); anything that differs gets its own group, so users' credentials and permissions
 * never mix. A group ends with its last member.
 */
export class SubscriptionGroups {
  readonly #groups = new Map<string, Group>();
  readonly #options: SubscriptionGroupsOptions;

  constructor(options: SubscriptionGroupsOptions) {
    this.#options = options;
  }

  /** Groups running. */
  get size(): number {
    return this.#groups.size;
  }

  /** Adds a member to the group `key`, which `start` starts (or restarts) carriers of. */
  join(key: string, spec: GroupSpec, start: StartCarrier, member: GroupMember): Membership {
    const entry = new Member(member, this.#group(key, spec, start), (left) => this.#leave(left));
    this.#enter(entry, entry.group);
    return {
      stream: entry.stream,
      get key() {
        return entry.group.key;
      },
      hold: () => entry.hold(),
      release: (nextKey, nextSpec, nextStart) => this.#release(entry, nextKey, nextSpec, nextStart),
    };
  }

  /** Ends `member`'s hold and moves it to group `key` if that is another (see `Membership.release`). */
  #release(member: Member, key: string, spec: GroupSpec, start: StartCarrier): void {
    const previous = member.group;
    const same = key === previous.key;
    // A new group's upstream subscriptions are not in place at once. Meanwhile the old group,
    // whose carriers answer for the new set too when everyone's set changed, bridges the gap.
    const bridge = !same && !(this.#groups.get(key)?.upstreamInPlace() ?? false);
    if (bridge && !member.stream.closed) member.rememberEvents();
    member.release(previous.spec, spec, same);
    if (member.stream.closed) return;
    if (same) {
      this.#staff(previous);
      return;
    }
    if (bridge) previous.bridge(member);
    // Its upstream subscription stays a while too, answering with its credentials, so for its
    // new set: it brings the old group's held and bridged members their events.
    const carried = member.carrying;
    if (carried) {
      member.carrying = undefined;
      carried.orphaned = true;
      setTimeout(() => this.#retire(carried), BRIDGE_MS).unref();
    }
    this.#leave(member);
    if (carried) this.#staff(previous);
    this.#enter(member, this.#group(key, spec, start));
  }

  /** Group `key`, started if need be. */
  #group(key: string, spec: GroupSpec, start: StartCarrier): Group {
    let group = this.#groups.get(key);
    if (!group || group.ended) {
      group = new Group(key, spec, start);
      this.#groups.set(key, group);
    }
    return group;
  }

  /** Adds `member` to `group`, which is staffed. */
  #enter(member: Member, group: Group): void {
    member.group = group;
    group.members.add(member);
    this.#staff(group);
  }

  /** Starts carriers until the group has as many as it should. */
  #staff(group: Group): void {
    if (group.ended) return;
    const active = group.activeCarriers();
    // From no carrier in place (a new group, or one its members had left): none is subscribed yet.
    if (active.length === 0 && group.members.size > 0) group.carriersSince = Date.now();
    if (!group.spec.fingerprint) {
      // Members who cannot be told apart: one subscription with their common credentials.
      if (active.length === 0) this.#startCarrier(group, undefined, [...group.members][0]!.identity);
      return;
    }
    const wanted = Math.min(CARRIERS, group.members.size);
    while (active.length < wanted) {
      const next = group.nextCarrier(active);
      if (!next) return;
      active.push(this.#startCarrier(group, next, { ...next.identity, sharedAnswer: true }));
    }
  }

  #startCarrier(group: Group, member: Member | undefined, identity: UpstreamIdentity): CarrierState {
    const upstream = (state: CarrierState): UpstreamConnections =>
      new UpstreamConnections({
        identity,
        urls: this.#options.urls,
        logger: this.#options.logger,
        keepAliveMs: this.#options.keepAliveMs,
        onSocket: this.#options.onSocket,
        onFatalClose: (code, reason) => this.#refused(state, { code, reason } as CloseReason),
      });
    const state = new CarrierState(group, member, upstream);
    const carrier: Carrier = {
      upstream: state.upstream,
      identity,
      report: (delivery) => (state.last = delivery),
      accept: (event) => this.#accept(state, event),
      answerFingerprint: () => state.answering ?? state.group.spec.fingerprint,
      mismatch: () => {
        this.#options.logger.warn(
          { fingerprint: state.group.spec.fingerprint, answering: state.answering },
          'a subgraph answered part of an event for another permission set',
        );
        state.mismatched = true;
        this.#restate(state.group);
      },
    };
    state.source = group.start(carrier);
    void this.#pump(state);
    return state;
  }

  /** A subgraph closed a carrier's upstream socket for its credentials (4401/4403). */
  #refused(carrier: CarrierState, reason: CloseReason): void {
    const { group, member } = carrier;
    if (!group.spec.fingerprint) {
      for (const each of [...group.members]) each.closeSocket(reason);
      return;
    }
    // Only the carrier's own credentials were refused: its socket closes, the group goes on.
    if (carrier.retired) return;
    if (member && group.members.has(member)) member.closeSocket(reason);
    this.#replace(carrier, true);
  }

  #accept(carrier: CarrierState, event: FormattedExecutionResult): boolean {
    const { group } = carrier;
    if (carrier.retired || group.ended) return false;
    const { fingerprint } = group.spec;
    if (!fingerprint) return true;
    const { permissions: used, event: raw, seen } = group.upstreamEvent(event);
    if (seen) return false;
    if (used !== undefined && used !== fingerprint && !carrier.orphaned) {
      // The carrier's permissions changed before the gateway heard of it, and maybe everyone's.
      this.#options.logger.info({ fingerprint, used }, 'an upstream event was answered for another permission set');
      this.#restate(group);
    }
    carrier.accepted(used, raw);
    return true;
  }

  /** Holds every member of the group and has it looked up again: someone's permissions changed. */
  #restate(group: Group): void {
    for (const member of group.members) {
      if (member.held) continue;
      member.hold();
      member.stale?.();
    }
  }

  async #pump(carrier: CarrierState): Promise<void> {
    const source = carrier.source!;
    let terminal = false;
    try {
      for (;;) {
        const step = await source.next();
        if (step.done) break;
        // An event this carrier accepted is its to deliver (the others skipped it), even if its member left meanwhile.
        if (carrier.mismatched || carrier.group.ended) continue;
        this.#deliver(carrier.group, step.value, carrier.last, carrier.answering, carrier.answeringEvent);
        carrier.last = undefined;
        // A result without data ends the subscription (the subgraph refused or failed it): so it
        // does the group's, at once: a member joining while the upstream completes would
        // otherwise land in a group whose last answer it never got.
        if (step.value.data == null) {
          terminal = true;
          break;
        }
      }
    } catch (error) {
      this.#options.logger.error({ err: error }, 'subscription group failed');
      terminal = true;
    }
    if (carrier.retired || carrier.group.ended) return;
    if (terminal || !carrier.group.spec.fingerprint) {
      await this.#end(carrier.group);
      return;
    }
    // This carrier's upstream ended on its own (its member's credentials): others carry on.
    this.#replace(carrier, true);
  }

  /** Serializes `result` once and writes it to whom it is for (see `fanOut`), for the metrics too. */
  #deliver(
    group: Group,
    result: Result,
    delivery: Delivery | undefined,
    permissions: string | undefined,
    event?: string,
  ): void {
    const started = performance.now();
    const sent = group.fanOut(this.#options.serialize(result), permissions, event);
    this.#options.delivered(delivery, sent, (performance.now() - started) / 1000);
  }

  /**
   * Retires a carrier and starts another; when it `failed` (its upstream ended or was refused,
   * not its member leaving), unless carriers keep failing.
   */
  #replace(carrier: CarrierState, failed: boolean): void {
    if (carrier.retired) return;
    if (carrier.orphaned) {
      // Its member moved on, and the group has carriers of its own already.
      this.#retire(carrier);
      return;
    }
    const { group } = carrier;
    this.#retire(carrier);
    if (group.ended || group.members.size === 0) return;
    if (!failed) {
      this.#staff(group);
      return;
    }
    if (!group.replaced()) {
      this.#options.logger.error(
        { key: group.key },
        'subscription group ended: its upstream subscriptions keep failing',
      );
      this.#deliver(group, UNAVAILABLE, undefined, undefined);
      void this.#end(group);
      return;
    }
    this.#staff(group);
  }

  #retire(carrier: CarrierState): void {
    if (carrier.retired) return;
    carrier.retire();
    const source = carrier.source;
    carrier.source = undefined;
    void (async () => {
      try {
        await source?.return?.();
      } finally {
        await carrier.upstream.close();
      }
    })().catch((error: unknown) =>
      this.#options.logger.warn({ err: error }, 'closing an upstream subscription failed'),
    );
  }

  #leave(member: Member): void {
    const group = member.group;
    if (!group.members.delete(member)) return;
    if (group.members.size === 0) {
      // Members that moved on may still need its answers for a moment (see `bridges`).
      const now = Date.now();
      const last = group.bridgedUntil();
      if (last > now) {
        setTimeout(() => {
          if (group.members.size === 0) void this.#end(group);
        }, last - now).unref();
        return;
      }
      void this.#end(group);
      return;
    }
    if (member.carrying) this.#replace(member.carrying, false);
  }

  /** The subscription ended (completed, refused, its source went away, or no member is left): so does every member's. */
  async #end(group: Group): Promise<void> {
    if (group.ended) return;
    group.end();
    if (this.#groups.get(group.key) === group) this.#groups.delete(group.key);
    for (const carrier of [...group.carriers]) this.#retire(carrier);
    for (const member of [...group.members]) member.stream.end();
    group.members.clear();
  }
}
