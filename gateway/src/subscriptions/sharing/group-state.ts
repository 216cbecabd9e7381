import type { FormattedExecutionResult } from 'graphql';
import { EventStream } from '@platform/kernel';
import { type EffectivePermissions, PERMISSIONS_EXTENSION, type CloseReason } from '@platform/kernel/gateway';
import type { Delivery } from '../delivery.js';
import type { SubscriptionResult } from '../federated.js';
import type { UpstreamConnections, UpstreamIdentity } from '../upstream.js';

// The state of subscription groups (see SubscriptionGroups), each part owned by a class: a
// member's hold and bridge (Member), a carrier's upstream subscription (CarrierState), a group's
// members, carriers, seen events, replacements and bridges (Group); with what is decided from
// that state alone: which held events a member may have, who carries a group next, which members
// an answer goes to, whether an upstream event was seen already. SubscriptionGroups decides when
// things happen (joins, moves, failures, ends).

export type Result = SubscriptionResult;

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

interface Held {
  payload: string;
  /** The upstream event it answers (publication and data), when known. */
  event?: string;
  /** The fingerprint of the set the answer was made for; undefined when no permission was consulted. */
  permissions: string | undefined;
}

/** One socket's subscription in a group: where its events go, whether they are held, and what it carries. */
export class Member implements GroupMember {
  readonly send: (payload: string) => boolean;
  readonly closeSocket: (reason: CloseReason) => void;
  readonly identity: UpstreamIdentity;
  readonly sessionId: string | undefined;
  readonly stale: (() => void) | undefined;
  /** Ends with the group, or when the member leaves (closing it leaves). */
  readonly stream: EventStream<never>;
  group: Group;
  /** The carrier this member lends its credentials to, if any. */
  carrying: CarrierState | undefined;
  /** Events kept back during a hold, with the permission set each was answered for. */
  #held: Held[] | undefined;
  /** While bridged (see `Group.bridge`): the upstream events it got, so none arrives twice. */
  #recent: Set<string> | undefined;

  constructor(member: GroupMember, group: Group, onLeave: (member: Member) => void) {
    this.send = member.send;
    this.closeSocket = member.closeSocket;
    this.identity = member.identity;
    this.sessionId = member.sessionId;
    this.stale = member.stale;
    this.group = group;
    this.stream = new EventStream<never>(() => onLeave(this));
  }

  get held(): boolean {
    return this.#held !== undefined;
  }

  /** Keeps events back until `release`. */
  hold(): void {
    this.#held ??= [];
  }

  /** Remembers the events it gets from now on, so one that two groups bring arrives once (see `Group.bridge`). */
  rememberEvents(): void {
    this.#recent ??= new Set();
  }

  forgetEvents(): void {
    this.#recent = undefined;
  }

  /**
   * Writes `payload`, answered for `permissions`, unless it had that upstream `event` already;
   * during a hold keeps it back instead. True when written.
   */
  give(payload: string, permissions: string | undefined, event: string | undefined): boolean {
    if (this.#recent && event !== undefined && this.#recent.has(event)) return false;
    if (this.#held) {
      // Not written yet: whether it is, and so whether it counts as seen, is decided at release.
      this.#held.push({ payload, permissions, event });
      return false;
    }
    if (this.#recent && event !== undefined) this.#recent.add(event);
    return this.send(payload);
  }

  /**
   * Ends a hold: writes each held event the member may have moving from group spec `previous` to
   * `next` (see `mayHave`; `same` when the group did not change), once, and drops the others.
   */
  release(previous: GroupSpec, next: GroupSpec, same: boolean): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    if (this.stream.closed) return;
    for (const { payload, permissions, event } of held) {
      if (!mayHave(permissions, previous, next, same)) continue;
      if (this.#recent && event !== undefined) {
        if (this.#recent.has(event)) continue;
        this.#recent.add(event);
      }
      this.send(payload);
    }
  }
}

/** One upstream subscription of a group: a member's, lent to it (or, without fingerprint, the group's own). */
export class CarrierState {
  readonly group: Group;
  readonly member: Member | undefined;
  readonly upstream: UpstreamConnections;
  /** Its member moved to another permission set's group: it carries on a while (see `release`), then retires. */
  orphaned = false;
  retired = false;
  source: AsyncIterableIterator<Result> | undefined;
  /** The set the event being completed was answered for (see `Carrier.answerFingerprint`). */
  answering: string | undefined;
  /** That event itself (its publication and data), the same whichever group brought it. */
  answeringEvent: string | undefined;
  /** An entity answer of the completion in flight was for another set: the result is not delivered. */
  mismatched = false;
  /** What the completion just made reported (field, publication time), for the metrics. */
  last: Delivery | undefined;

  constructor(group: Group, member: Member | undefined, upstream: (carrier: CarrierState) => UpstreamConnections) {
    this.group = group;
    this.member = member;
    this.upstream = upstream(this);
    if (member) member.carrying = this;
    group.carriers.add(this);
  }

  /** Carrying its group: neither retired nor orphaned. */
  get active(): boolean {
    return !this.retired && !this.orphaned;
  }

  /** The upstream event about to be completed was answered for `permissions`. */
  accepted(permissions: string | undefined, event: string): void {
    this.answering = permissions;
    this.answeringEvent = event;
    this.mismatched = false;
  }

  /** No longer carrying: out of its group and its member's hands (closing its upstream is the caller's). */
  retire(): void {
    this.retired = true;
    this.group.carriers.delete(this);
    if (this.member?.carrying === this) this.member.carrying = undefined;
  }
}

/** Subscriptions with the same answers (one key), served by one or two carriers. */
export class Group {
  readonly key: string;
  readonly spec: GroupSpec;
  readonly start: StartCarrier;
  readonly members = new Set<Member>();
  readonly carriers = new Set<CarrierState>();
  ended = false;
  /**
   * When the group's carriers started: its upstream subscriptions may not be in place yet. A group
   * left without an active carrier (its members moved away, it lingers for its bridges) and staffed
   * again counts from then.
   */
  carriersSince = Date.now();
  /** Upstream events already delivered (a shared group's carriers each bring every event). */
  readonly #seen = new Set<string>();
  /** When carriers were last replaced, to give up on a group whose carriers keep failing. */
  readonly #replaced: number[] = [];
  /**
   * Members that just moved to a group too new to be sure of its upstream subscriptions, until
   * when: they still get this group's answers made for their new set (each event once).
   */
  readonly #bridges = new Map<Member, number>();

  constructor(key: string, spec: GroupSpec, start: StartCarrier) {
    this.key = key;
    this.spec = spec;
    this.start = start;
  }

  activeCarriers(): CarrierState[] {
    return [...this.carriers].filter((carrier) => carrier.active);
  }

  /**
   * Whether the group has carriers whose upstream subscriptions are surely in place: an active
   * one, started long enough ago (graphql-ws does not acknowledge a subscription). A member moving
   * into a group without is bridged by its old one meanwhile (see `bridge`).
   */
  upstreamInPlace(): boolean {
    if (this.ended || Date.now() - this.carriersSince < BRIDGE_MS) return false;
    return this.activeCarriers().length > 0;
  }

  /**
   * The member to carry the group next, if any is free: best one from another session than the
   * `active` carriers' and whose permissions are not being looked up again; among equals, one at
   * random. When every member is being looked up again (a role changed), they are released one by
   * one, and a carrier picked in that order would leave next every time.
   */
  nextCarrier(active: readonly CarrierState[]): Member | undefined {
    const sessions = new Set(active.map((carrier) => carrier.member?.sessionId));
    const rank = (member: Member): number => (member.held ? 2 : 0) + (sessions.has(member.sessionId) ? 1 : 0);
    let next: Member | undefined;
    let best = Infinity;
    let equals = 0;
    for (const member of this.members) {
      if (member.carrying) continue;
      const score = rank(member);
      if (score < best) {
        best = score;
        equals = 0;
      }
      if (score === best && Math.random() * ++equals < 1) next = member;
    }
    return next;
  }

  /**
   * The group's view of one upstream event: the permission set it was answered for (if any was
   * consulted), the event itself (publication and data, the same whichever group brought it), and
   * whether this group had it already (each carrier brings every event; answers for two sets are
   * two answers).
   */
  upstreamEvent(event: FormattedExecutionResult): { permissions: string | undefined; event: string; seen: boolean } {
    const permissions = event.extensions?.[PERMISSIONS_EXTENSION] as string | undefined;
    const raw = JSON.stringify([event.extensions?.publishedAt ?? null, event.data ?? null, event.errors ?? null]);
    const id = `${permissions ?? ''}:${raw}`;
    const seen = this.#seen.has(id);
    if (!seen) {
      this.#seen.add(id);
      if (this.#seen.size > SEEN) this.#seen.delete(this.#seen.values().next().value!);
    }
    return { permissions, event: raw, seen };
  }

  /**
   * Writes `payload` to the members (and the members it bridges) it is for, holding it for those
   * on hold; returns how many sockets it was written to. `permissions`: the set it was answered
   * for, if any was consulted; `event`: the upstream event, so a member getting it from two groups
   * while it moves gets it once.
   */
  fanOut(payload: string, permissions: string | undefined, event?: string): number {
    const forGroup = permissions === undefined || permissions === this.spec.fingerprint;
    let sent = 0;
    for (const member of this.members) {
      if ((forGroup || member.held) && member.give(payload, permissions, event)) sent++;
    }
    if (this.#bridges.size === 0) return sent;
    const now = Date.now();
    for (const [member, until] of this.#bridges) {
      if (until < now || member.stream.closed || member.group === this) {
        this.#bridges.delete(member);
        member.forgetEvents();
      } else if (
        (permissions === undefined || permissions === member.group.spec.fingerprint) &&
        member.give(payload, permissions, event)
      ) {
        sent++;
      }
    }
    return sent;
  }

  /** `member` moved to a group whose upstream is not surely in place: it gets this group's answers for its new set a while. */
  bridge(member: Member): void {
    this.#bridges.set(member, Date.now() + BRIDGE_MS);
  }

  /** Until when a member still subscribed is bridged (0: none is). */
  bridgedUntil(): number {
    let last = 0;
    for (const [member, until] of this.#bridges) if (!member.stream.closed) last = Math.max(last, until);
    return last;
  }

  /** A carrier failed and is replaced: false when too many were within REPLACED_WINDOW_MS (something is wrong upstream). */
  replaced(): boolean {
    const now = Date.now();
    this.#replaced.push(now);
    while (this.#replaced[0]! < now - REPLACED_WINDOW_MS) this.#replaced.shift();
    return this.#replaced.length <= MAX_REPLACEMENTS;
  }

  /** Marks the group ended and drops its bridges; ending its members and carriers is the caller's. */
  end(): void {
    this.ended = true;
    for (const member of this.#bridges.keys()) member.forgetEvents();
    this.#bridges.clear();
  }
}

/** Whether `next` holds every permission `previous` does (both known). */
function covers(next: EffectivePermissions | undefined, previous: EffectivePermissions | undefined): boolean {
  if (!next || !previous) return false;
  if (next.all) return true;
  if (previous.all) return false;
  return [...previous.permissions].every((permission) => next.permissions.has(permission));
}

/** A shared group keeps two carriers when it has two members, so one can leave without a gap. */
export const CARRIERS = 2;
/** How long a member that moved to a new group still gets its old group's answers for its new set. */
export const BRIDGE_MS = 3_000;
/** Upstream events remembered per group, to deliver each once. */
const SEEN = 256;
/** More carrier replacements than this within REPLACED_WINDOW_MS end the group (something is wrong upstream). */
const MAX_REPLACEMENTS = 20;
const REPLACED_WINDOW_MS = 10_000;

/**
 * Whether a member moving from group spec `previous` to `next` may have an event it held, answered
 * for `permissions` (a fingerprint; undefined when no permission was consulted): when it was
 * answered for the new set, or for the old one if the group did not change (`same`) or the new set
 * holds everything the old one did (it shows nothing the member may not see now).
 */
function mayHave(permissions: string | undefined, previous: GroupSpec, next: GroupSpec, same: boolean): boolean {
  if (permissions === undefined || permissions === next.fingerprint) return true;
  return permissions === previous.fingerprint && (same || covers(next.permissions, previous.permissions));
}
