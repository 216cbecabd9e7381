import type { ExecutionResult, FormattedExecutionResult } from 'graphql';
import { PERMISSIONS_EXTENSION, type CloseReason, type EffectivePermissions, type EventStream } from '@platform/kernel';
import type { UpstreamConnections, UpstreamIdentity } from '../upstream.js';

// The state of subscription groups (see SubscriptionGroups) and what is decided from it alone:
// which held events a member may have, who carries a group next, which members an answer goes
// to, and whether an upstream event was seen already.

export type Result = ExecutionResult | FormattedExecutionResult;

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

export interface Member extends GroupMember {
  group: Group;
  readonly stream: EventStream<never>;
  /** Events kept back during a hold, with the permission set each was answered for. */
  held: Held[] | undefined;
  carrying: CarrierState | undefined;
  /** While bridged (see `Group.bridges`): the upstream events it got, so none arrives twice. */
  recent: Set<string> | undefined;
}

export interface Held {
  payload: string;
  /** The upstream event it answers (publication and data), when known. */
  event?: string;
  /** The fingerprint of the set the answer was made for; undefined when no permission was consulted. */
  permissions: string | undefined;
}

export interface CarrierState {
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

export interface Group {
  readonly key: string;
  readonly spec: GroupSpec;
  readonly members: Set<Member>;
  readonly carriers: Set<CarrierState>;
  start: StartCarrier;
  /** Upstream events already delivered (a shared group's carriers each bring every event). */
  readonly seen: Set<string>;
  /** When carriers were last replaced, to give up on a group whose carriers keep failing. */
  readonly replaced: number[];
  /**
   * When the group's carriers started: its upstream subscriptions may not be in place yet. A group
   * left without an active carrier (its members moved away, it lingers for its bridges) and staffed
   * again counts from then.
   */
  carriersSince: number;
  /**
   * Members that just moved to a group too new to be sure of its upstream subscriptions, until
   * when: they still get this group's answers made for their new set (each event once).
   */
  readonly bridges: Map<Member, number>;
  ended: boolean;
}

/**
 * Whether `group` has carriers whose upstream subscriptions are surely in place: an active one,
 * started long enough ago (graphql-ws does not acknowledge a subscription). A member moving into a
 * group without is bridged by its old one meanwhile (see `Group.bridges`).
 */
export function upstreamInPlace(group: Group | undefined): boolean {
  if (!group || group.ended || Date.now() - group.carriersSince < BRIDGE_MS) return false;
  for (const carrier of group.carriers) if (!carrier.retired && !carrier.orphaned) return true;
  return false;
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
export const MAX_REPLACEMENTS = 20;
export const REPLACED_WINDOW_MS = 10_000;

/**
 * Whether a member moving from group spec `previous` to `next` may have an event it held, answered
 * for `permissions` (a fingerprint; undefined when no permission was consulted): when it was
 * answered for the new set, or for the old one if the group did not change (`same`) or the new set
 * holds everything the old one did (it shows nothing the member may not see now).
 */
export function mayHave(permissions: string | undefined, previous: GroupSpec, next: GroupSpec, same: boolean): boolean {
  if (permissions === undefined || permissions === next.fingerprint) return true;
  return permissions === previous.fingerprint && (same || covers(next.permissions, previous.permissions));
}

/**
 * The member to carry `group` next, if any is free: best one from another session than the
 * `active` carriers' and whose permissions are not being looked up again; among equals, one at
 * random. When every member is being looked up again (a role changed), they are released one by
 * one, and a carrier picked in that order would leave next every time.
 */
export function nextCarrier(group: Group, active: readonly CarrierState[]): Member | undefined {
  const sessions = new Set(active.map((carrier) => carrier.member?.sessionId));
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
  return next;
}

/**
 * A shared group's view of one upstream event: the permission set it was answered for (if any was
 * consulted), the event itself (publication and data, the same whichever group brought it), and
 * whether this group had it already (each carrier brings every event; answers for two sets are
 * two answers).
 */
export function upstreamEvent(
  group: Group,
  event: FormattedExecutionResult,
): { permissions: string | undefined; event: string; seen: boolean } {
  const permissions = event.extensions?.[PERMISSIONS_EXTENSION] as string | undefined;
  const raw = JSON.stringify([event.extensions?.publishedAt ?? null, event.data ?? null, event.errors ?? null]);
  const id = `${permissions ?? ''}:${raw}`;
  const seen = group.seen.has(id);
  if (!seen) {
    group.seen.add(id);
    if (group.seen.size > SEEN) group.seen.delete(group.seen.values().next().value!);
  }
  return { permissions, event: raw, seen };
}

/**
 * Writes `payload` to the members of `group` (and the members it bridges) it is for, holding it
 * for those on hold; returns how many sockets it was written to. `permissions`: the set it was
 * answered for, if any was consulted; `event`: the upstream event, so a member getting it from two
 * groups while it moves gets it once.
 */
export function fanOut(group: Group, payload: string, permissions: string | undefined, event?: string): number {
  const give = (member: Member): boolean => {
    if (member.recent && event !== undefined && member.recent.has(event)) return false;
    if (member.held) {
      // Not written yet: whether it is, and so whether it counts as seen, is decided at release.
      member.held.push({ payload, permissions, event });
      return false;
    }
    if (member.recent && event !== undefined) member.recent.add(event);
    return member.send(payload);
  };
  const forGroup = permissions === undefined || permissions === group.spec.fingerprint;
  let sent = 0;
  for (const member of group.members) if ((forGroup || member.held) && give(member)) sent++;
  if (group.bridges.size > 0) {
    const now = Date.now();
    for (const [member, until] of group.bridges) {
      if (until < now || member.stream.closed || member.group === group) {
        group.bridges.delete(member);
        member.recent = undefined;
      } else if ((permissions === undefined || permissions === member.group.spec.fingerprint) && give(member)) sent++;
    }
  }
  return sent;
}
