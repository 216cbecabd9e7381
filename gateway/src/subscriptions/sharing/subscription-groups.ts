import type { FormattedExecutionResult } from 'graphql';
import { EventStream, type CloseReason, type Logger } from '@platform/kernel';
import {
  BRIDGE_MS,
  CARRIERS,
  fanOut,
  MAX_REPLACEMENTS,
  mayHave,
  nextCarrier,
  REPLACED_WINDOW_MS,
  upstreamEvent,
  upstreamInPlace,
  type Carrier,
  type CarrierState,
  type Delivery,
  type Group,
  type GroupMember,
  type GroupSpec,
  type Member,
  type Membership,
  type Result,
  type StartCarrier,
} from './group-state.js';
import { UNAVAILABLE, UpstreamConnections, type UpstreamIdentity } from '../upstream.js';

export type { Carrier, Delivery, GroupMember, GroupSpec, Membership, StartCarrier } from './group-state.js';

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
    const entry: Member = {
      send: member.send,
      closeSocket: member.closeSocket,
      identity: member.identity,
      sessionId: member.sessionId,
      stale: member.stale,
      group: undefined as unknown as Group,
      stream: new EventStream<never>(() => this.#leave(entry)),
      held: undefined,
      carrying: undefined,
      recent: undefined,
    };
    this.#enter(entry, key, spec, start);
    return {
      stream: entry.stream,
      get key() {
        return entry.group.key;
      },
      hold: () => {
        entry.held ??= [];
      },
      release: (nextKey, nextSpec, nextStart) => {
        const held = entry.held ?? [];
        entry.held = undefined;
        if (entry.stream.closed) return;
        const previousGroup = entry.group;
        const previous = previousGroup.spec;
        const same = nextKey === previousGroup.key;
        // A new group's upstream subscriptions are not in place at once. Meanwhile the old group,
        // whose carriers answer for the new set too when everyone's set changed, bridges the gap.
        const bridge = !same && !upstreamInPlace(this.#groups.get(nextKey));
        if (bridge) entry.recent ??= new Set();
        for (const { payload, permissions, event } of held) {
          if (!mayHave(permissions, previous, nextSpec, same)) continue;
          if (entry.recent && event !== undefined) {
            if (entry.recent.has(event)) continue;
            entry.recent.add(event);
          }
          entry.send(payload);
        }
        if (same) {
          this.#staff(previousGroup);
          return;
        }
        if (bridge) previousGroup.bridges.set(entry, Date.now() + BRIDGE_MS);
        // Its upstream subscription stays a while too, answering with its credentials, so for its
        // new set: it brings the old group's held and bridged members their events.
        const carried = entry.carrying;
        if (carried) {
          entry.carrying = undefined;
          carried.orphaned = true;
          setTimeout(() => this.#retire(carried), BRIDGE_MS).unref();
        }
        this.#leave(entry);
        if (carried) this.#staff(previousGroup);
        this.#enter(entry, nextKey, nextSpec, nextStart);
      },
    };
  }

  /** Adds `member` to group `key`, started if need be. */
  #enter(member: Member, key: string, spec: GroupSpec, start: StartCarrier): void {
    let group = this.#groups.get(key);
    if (!group || group.ended) {
      group = {
        key,
        spec,
        members: new Set(),
        carriers: new Set(),
        start,
        seen: new Set(),
        replaced: [],
        carriersSince: Date.now(),
        bridges: new Map(),
        ended: false,
      };
      this.#groups.set(key, group);
    }
    member.group = group;
    group.members.add(member);
    this.#staff(group);
  }

  /** Starts carriers until the group has as many as it should. */
  #staff(group: Group): void {
    if (group.ended) return;
    const active = [...group.carriers].filter((carrier) => !carrier.retired && !carrier.orphaned);
    // From no carrier in place (a new group, or one its members had left): none is subscribed yet.
    if (active.length === 0 && group.members.size > 0) group.carriersSince = Date.now();
    if (!group.spec.fingerprint) {
      // Members who cannot be told apart: one subscription with their common credentials.
      if (active.length === 0) this.#startCarrier(group, undefined, [...group.members][0]!.identity);
      return;
    }
    const wanted = Math.min(CARRIERS, group.members.size);
    while (active.length < wanted) {
      const next = nextCarrier(group, active);
      if (!next) return;
      active.push(this.#startCarrier(group, next, { ...next.identity, sharedAnswer: true }));
    }
  }

  #startCarrier(group: Group, member: Member | undefined, identity: UpstreamIdentity): CarrierState {
    const state: CarrierState = {
      group,
      orphaned: false,
      member,
      upstream: new UpstreamConnections({
        identity,
        urls: this.#options.urls,
        logger: this.#options.logger,
        keepAliveMs: this.#options.keepAliveMs,
        onSocket: this.#options.onSocket,
        onFatalClose: (code, reason) => {
          const closeReason = { code, reason } as CloseReason;
          if (!state.group.spec.fingerprint) {
            for (const each of [...state.group.members]) each.closeSocket(closeReason);
            return;
          }
          // Only the carrier's own credentials were refused: its socket closes, the group goes on.
          if (state.retired) return;
          if (member && state.group.members.has(member)) member.closeSocket(closeReason);
          this.#replace(state, true);
        },
      }),
      source: undefined,
      retired: false,
      answering: undefined,
      answeringEvent: undefined,
      mismatched: false,
      last: undefined,
    };
    if (member) member.carrying = state;
    group.carriers.add(state);
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

  #accept(carrier: CarrierState, event: FormattedExecutionResult): boolean {
    const { group } = carrier;
    if (carrier.retired || group.ended) return false;
    const { fingerprint } = group.spec;
    if (!fingerprint) return true;
    const { permissions: used, event: raw, seen } = upstreamEvent(group, event);
    if (seen) return false;
    if (used !== undefined && used !== fingerprint && !carrier.orphaned) {
      // The carrier's permissions changed before the gateway heard of it, and maybe everyone's.
      this.#options.logger.info({ fingerprint, used }, 'an upstream event was answered for another permission set');
      this.#restate(group);
    }
    carrier.answering = used;
    carrier.answeringEvent = raw;
    carrier.mismatched = false;
    return true;
  }

  /** Holds every member of the group and has it looked up again: someone's permissions changed. */
  #restate(group: Group): void {
    for (const member of group.members) {
      if (member.held) continue;
      member.held = [];
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
        // A result without data ends the subscription (the subgraph refused or failed it): so it does the group's.
        if (step.value.data == null) terminal = true;
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
    const sent = fanOut(group, this.#options.serialize(result), permissions, event);
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
    const now = Date.now();
    group.replaced.push(now);
    while (group.replaced[0]! < now - REPLACED_WINDOW_MS) group.replaced.shift();
    if (group.replaced.length > MAX_REPLACEMENTS) {
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
    carrier.retired = true;
    carrier.group.carriers.delete(carrier);
    if (carrier.member?.carrying === carrier) carrier.member.carrying = undefined;
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
      let last = 0;
      for (const [bridged, until] of group.bridges) if (!bridged.stream.closed) last = Math.max(last, until);
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
    group.ended = true;
    if (this.#groups.get(group.key) === group) this.#groups.delete(group.key);
    for (const carrier of [...group.carriers]) this.#retire(carrier);
    for (const member of group.bridges.keys()) member.recent = undefined;
    group.bridges.clear();
    for (const member of [...group.members]) member.stream.end();
    group.members.clear();
  }
}
