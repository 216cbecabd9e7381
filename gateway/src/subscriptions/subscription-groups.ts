import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import {
  EventStream,
  PERMISSIONS_EXTENSION,
  type CloseReason,
  type EffectivePermissions,
  type Logger,
} from '@platform/kernel';
import { UpstreamConnections, type UpstreamIdentity } from './upstream.js';

type Result = ExecutionResult | FormattedExecutionResult;

/** What a group's completed stream reports with each result, for the per-socket metrics. */
export interface Delivery {
  field: string;
  publishedAt: number | undefined;
}

/** One socket's subscription, as it asks to join a group. */
export interface GroupMember {
  /** Writes one serialized result to the member's socket as a `next` frame of its operation; false if not written. */
  send(payload: string): boolean;
  /** Closes the member's client socket (a subgraph refused the credentials this member lent its group). */
  closeSocket(reason: CloseReason): void;
  /** The member's own credentials, which its group may carry upstream. */
  identity: UpstreamIdentity;
  /** The member's session, if signed in: a shared group's two carriers come from different sessions when it can. */
  sessionId?: string;
  /**
   * A subgraph answered the member's group for another permission set: someone's permissions
   * changed. The member's events are already held; it is to be looked up again and released.
   */
  stale?(): void;
}

/**
 * How a group's answers are made.
 * - Without `fingerprint`: its members cannot be told apart (same token, address and agent, or
 *   guests from the same address and agent), so one upstream subscription with those credentials
 *   answers all of them.
 * - With `fingerprint`: its members hold the same permission set (that fingerprint) and run an
 *   operation with no per-caller field, so their answers are the same. The upstream subscription
 *   is carried by members in turn, in shared-answer mode (the subgraph answers without reading who
 *   the caller is, and names the permission set it used).
 */
export interface GroupSpec {
  fingerprint?: string;
  /** With `fingerprint`: the permission set itself (to tell whether a member moving between sets only gained). */
  permissions?: EffectivePermissions;
}

/** One member's upstream subscription, lent to its group. */
export interface Carrier {
  upstream: UpstreamConnections;
  /** The credentials carried, with shared-answer mode on for a shared group. */
  identity: UpstreamIdentity;
  report(delivery: Delivery): void;
  /**
   * Whether this upstream event should be completed: not when another carrier already brought
   * the same answer. An answer for another permission set than the group's is completed too, but
   * only held members get it (see `Membership.release`), and every member is held and looked up
   * again: someone's permissions changed.
   */
  accept(event: FormattedExecutionResult): boolean;
  /** The permission set the event being completed was answered for: entity answers must be for the same. */
  answerFingerprint(): string | undefined;
  /** A subgraph answered part of a completion for another set than the event's: the result is not delivered. */
  mismatch(): void;
}

/** Starts one carrier's subscription: the completed results of its upstream events. */
export type StartCarrier = (carrier: Carrier) => AsyncIterableIterator<Result>;

/** A member's place in the groups: it moves when its permissions change. */
export interface Membership {
  /** Carries no values (frames go through `send`): it only ends, with the group or when the member leaves. */
  readonly stream: EventStream<never>;
  /** The group the member is in. */
  readonly key: string;
  /** Keeps the member's events back until `release` (its permissions are being looked up again). */
  hold(): void;
  /**
   * Ends a hold, and moves the member if its group changed. Each held event is written if it was
   * answered for the member's new permission set, or for its old one when the group did not change
   * or the new set holds everything the old one did (it shows nothing the member may not see
   * now), or without consulting permissions; any other is dropped.
   */
  release(key: string, spec: GroupSpec, start: StartCarrier): void;
}

interface Member extends GroupMember {
  group: Group;
  readonly stream: EventStream<never>;
  /** Events kept back during a hold, with the permission set each was answered for. */
  held: Held[] | undefined;
  carrying: CarrierState | undefined;
  /** While bridged (see `Group.bridges`): the upstream events it got, so none arrives twice. */
  recent: Set<string> | undefined;
}

interface Held {
  payload: string;
  /** The upstream event it answers (publication and data), when known. */
  event?: string;
  /** The fingerprint of the set the answer was made for; undefined when no permission was consulted. */
  permissions: string | undefined;
}

interface CarrierState {
  readonly group: Group;
  /** Its member moved to another permission set's group: it carries on a while (see `release`), then retires. */
  orphaned: boolean;
  readonly member: Member | undefined;
  readonly upstream: UpstreamConnections;
  source: AsyncIterableIterator<Result> | undefined;
  retired: boolean;
  /** The set the event being completed was answered for (see `Carrier.answerFingerprint`). */
  answering: string | undefined;
  /** That event itself (its publication and data), the same whichever group brought it. */
  answeringEvent: string | undefined;
  /** An entity answer of the completion in flight was for another set: the result is not delivered. */
  mismatched: boolean;
  last: Delivery | undefined;
}

interface Group {
  readonly key: string;
  readonly spec: GroupSpec;
  readonly members: Set<Member>;
  readonly carriers: Set<CarrierState>;
  start: StartCarrier;
  /** Upstream events already delivered (a shared group's carriers each bring every event). */
  readonly seen: Set<string>;
  /** When carriers were last replaced, to give up on a group whose carriers keep failing. */
  readonly replaced: number[];
  /** When the group started: its carriers' upstream subscriptions may not be in place yet. */
  readonly startedAt: number;
  /**
   * Members that just moved to a group too new to be sure of its upstream subscriptions, until
   * when: they still get this group's answers made for their new set (each event once).
   */
  readonly bridges: Map<Member, number>;
  ended: boolean;
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

/** Whether `next` holds every permission `previous` does (both known). */
function covers(next: EffectivePermissions | undefined, previous: EffectivePermissions | undefined): boolean {
  if (!next || !previous) return false;
  if (next.all) return true;
  if (previous.all) return false;
  return [...previous.permissions].every((permission) => next.permissions.has(permission));
}

/** A shared group keeps two carriers when it has two members, so one can leave without a gap. */
const CARRIERS = 2;
/** How long a member that moved to a new group still gets its old group's answers for its new set. */
const BRIDGE_MS = 3_000;
/** Upstream events remembered per group, to deliver each once. */
const SEEN = 256;
/** More carrier replacements than this within REPLACED_WINDOW_MS end the group (something is wrong upstream). */
const MAX_REPLACEMENTS = 20;
const REPLACED_WINDOW_MS = 10_000;

/** What members of a group whose carriers keep failing get, before their subscription ends. */
const UNAVAILABLE: FormattedExecutionResult = {
  errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
};

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
        const target = this.#groups.get(nextKey);
        const bridge = !same && (!target || target.ended || Date.now() - target.startedAt < BRIDGE_MS);
        if (bridge) entry.recent ??= new Set();
        for (const { payload, permissions, event } of held) {
          if (
            permissions !== undefined &&
            permissions !== nextSpec.fingerprint &&
            !(permissions === previous.fingerprint && (same || covers(nextSpec.permissions, previous.permissions)))
          ) {
            continue;
          }
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
        startedAt: Date.now(),
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
    if (!group.spec.fingerprint) {
      // Members who cannot be told apart: one subscription with their common credentials.
      if (active.length === 0) this.#startCarrier(group, undefined, [...group.members][0]!.identity);
      return;
    }
    const wanted = Math.min(CARRIERS, group.members.size);
    while (active.length < wanted) {
      const sessions = new Set(active.map((carrier) => carrier.member?.sessionId));
      // Best a member from another session whose permissions are not being looked up again; among
      // equals, one at random: when every member is being looked up again (a role changed), they
      // are released one by one, and a carrier picked in that order would leave next every time.
      const rank = (member: Member): number => (member.held ? 2 : 0) + (sessions.has(member.sessionId) ? 1 : 0);
      let next: Member | undefined;
      let best = Infinity;
      let equals = 0;
      for (const member of group.members) {
        if (member.carrying) continue;
        const score = rank(member);
        if (score < best) {
          best = score;
          equals = 0;
        }
        if (score === best && Math.random() * ++equals < 1) next = member;
      }
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
    const used = event.extensions?.[PERMISSIONS_EXTENSION] as string | undefined;
    const raw = JSON.stringify([event.extensions?.publishedAt ?? null, event.data ?? null, event.errors ?? null]);
    // Two carriers answered for two sets (one's permissions changed) are two answers; for one set, one.
    const id = `${used ?? ''}:${raw}`;
    if (group.seen.has(id)) return false;
    group.seen.add(id);
    if (group.seen.size > SEEN) group.seen.delete(group.seen.values().next().value!);
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

  /**
   * Writes `result` to the members (and bridged members) it is for. `permissions`: the set it was
   * answered for, if any was consulted; `event`: the upstream event, for members that may get it
   * from two groups while they move.
   */
  #deliver(
    group: Group,
    result: Result,
    delivery: Delivery | undefined,
    permissions: string | undefined,
    event?: string,
  ): void {
    const started = performance.now();
    const payload = this.#options.serialize(result);
    const forGroup = permissions === undefined || permissions === group.spec.fingerprint;
    const give = (member: Member): boolean => {
      if (member.recent && event !== undefined) {
        if (member.recent.has(event)) return false;
        member.recent.add(event);
      }
      if (member.held) {
        member.held.push({ payload, permissions, event });
        return false;
      }
      return member.send(payload);
    };
    let sent = 0;
    for (const member of group.members) {
      if (member.held) member.held.push({ payload, permissions, event });
      else if (forGroup && give(member)) sent++;
    }
    if (group.bridges.size > 0) {
      const now = Date.now();
      for (const [member, until] of group.bridges) {
        if (until < now || member.stream.closed || member.group === group) {
          group.bridges.delete(member);
          member.recent = undefined;
        } else if ((permissions === undefined || permissions === member.group.spec.fingerprint) && give(member)) sent++;
      }
    }
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
