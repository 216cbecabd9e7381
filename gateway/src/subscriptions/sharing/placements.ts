import type { ExecutionArgs, GraphQLSchema } from 'graphql';
import type { Logger } from '@platform/kernel';
import type { SocketUser } from '@platform/kernel/gateway';
import pLimit from 'p-limit';
import type { PermissionSets } from './permission-sets.js';
import { ShareableOperations } from './shareable.js';
import type { GroupSpec, Membership, StartCarrier } from './subscription-groups.js';
import type { UpstreamIdentity } from '../upstream.js';

/** Who runs a subscription: what its group is decided from. */
export interface Caller {
  readonly user: SocketUser | undefined;
  readonly identity: UpstreamIdentity;
}

/** Where a subscription belongs. */
export interface Placement {
  key: string;
  spec: GroupSpec;
  /** Shareable, but the caller's permissions could not be looked up (authz busy or down): placed per caller for now. */
  unshared?: boolean;
}

/** A subscription that may share: where it is, and what is needed to place it again. */
interface Tracked {
  readonly caller: Caller;
  readonly args: ExecutionArgs;
  readonly text: string;
  readonly membership: Membership;
  /** Bumped by each recheck: only the latest one's answer moves the subscription. */
  generation: number;
}

/** Permission lookups at once when many callers' sets must be looked up again. */
const RECHECKS_AT_ONCE = 16;
/** A subscription left unshared because its caller's lookup failed is first placed again after 5–10 s. */
const UNSHARED_RETRY_MS = 5_000;

export interface PlacementsOptions {
  /** The supergraph (which fields answer per caller). */
  supergraph(): GraphQLSchema;
  /** Callers' permission sets, from authz; without, nothing is shared. */
  permissionSets: PermissionSets | undefined;
  /** How often every shared subscription's set is looked up again (the permission cache's lifetime). */
  sweepMs: number;
  /** Starts a carrier of the group a subscription is placed in. */
  starter(args: ExecutionArgs, spec: GroupSpec): StartCarrier;
  logger: Logger;
}

/**
 * Which group each subscription belongs in, and moving it when that changes. An operation with
 * no per-caller field, run by callers holding the same permission set, gets the same answers
 * whoever runs it: one shared group for all of them. Anything else (a per-caller field, or authz
 * not answering) groups only callers who cannot be told apart: the same token, address and agent
 * (or guests with the same address and agent). Shared subscriptions move when their caller's set
 * changes (authz events), at each sweep, and, when their caller could not be looked up, soon after.
 */
export class Placements {
  readonly #options: PlacementsOptions;
  readonly #shareable = new ShareableOperations();
  /**
   * Subscriptions in a shared group, or that could be (their caller's lookup failed): they move
   * when their permissions change, and at each sweep.
   */
  readonly #tracked = new Set<Tracked>();
  // 5,000 callers' permissions dropped at once (a role changed) are asked of authz a few at a time.
  readonly #limit = pLimit(RECHECKS_AT_ONCE);
  readonly #stopListening: (() => void) | undefined;
  readonly #sweep: NodeJS.Timeout | undefined;

  constructor(options: PlacementsOptions) {
    this.#options = options;
    const { permissionSets, sweepMs } = options;
    this.#stopListening = permissionSets?.onChange((userId) => {
      for (const subscription of this.#tracked) {
        if (userId === undefined || subscription.caller.user?.id.toLowerCase() === userId) this.#recheck(subscription);
      }
    });
    // What authz changed without the gateway hearing of it (an event lost with no bus reset) is
    // caught one cache lifetime later at the latest, as in every subgraph.
    this.#sweep = permissionSets
      ? setInterval(() => this.#tracked.forEach((each) => this.#reconfirm(each)), sweepMs).unref()
      : undefined;
  }

  /** Where a subscription belongs. */
  async place(caller: Caller, args: ExecutionArgs, text: string): Promise<Placement> {
    const operation = [text, args.operationName ?? null, args.variableValues ?? {}];
    const { identity } = caller;
    const perCaller: Placement = {
      key: JSON.stringify([
        'caller',
        identity.authorization ?? null,
        identity.clientIp ?? null,
        identity.userAgent ?? null,
        ...operation,
      ]),
      spec: {},
    };
    const { permissionSets } = this.#options;
    if (!permissionSets || !this.#shareable.isShareable(this.#options.supergraph(), args.document, text))
      return perCaller;
    try {
      const { fingerprint, permissions } = await permissionSets.of(caller.user);
      return {
        key: JSON.stringify(['shared', caller.user ? 'user' : 'guest', fingerprint, ...operation]),
        spec: { fingerprint, permissions },
      };
    } catch (error) {
      this.#options.logger.warn(
        { err: error },
        "the caller's permissions could not be looked up: their subscription is not shared until they are",
      );
      return { ...perCaller, unshared: true };
    }
  }

  /**
   * Follows a subscription placed by `place` and joined to its group as `membership`, so it moves
   * when its caller's set changes. `stale` is for the group to call when an answer came for another
   * set; `end` when the subscription ends.
   */
  follow(
    caller: Caller,
    args: ExecutionArgs,
    text: string,
    placement: Placement,
    membership: Membership,
  ): { stale(): void; end(): void } {
    const subscription: Tracked = { caller, args, text, membership, generation: 0 };
    if (placement.spec.fingerprint || placement.unshared) this.#tracked.add(subscription);
    if (placement.unshared) this.#retryUnshared(subscription, UNSHARED_RETRY_MS);
    return {
      stale: () => this.#recheck(subscription),
      end: () => this.#tracked.delete(subscription),
    };
  }

  /** Holds a subscription's events while its caller's permission set is looked up again, then moves it if it changed. */
  #recheck(subscription: Tracked): void {
    const generation = ++subscription.generation;
    subscription.membership.hold();
    void this.#limit(async () => {
      if (generation !== subscription.generation || subscription.membership.stream.closed) return;
      const placement = await this.place(subscription.caller, subscription.args, subscription.text);
      // A later change asked again: that answer decides.
      if (generation !== subscription.generation) return;
      this.#move(subscription, placement);
      if (placement.unshared) this.#retryUnshared(subscription, UNSHARED_RETRY_MS);
    });
  }

  /**
   * Looks a subscription's set up again without holding its events (the sweep, a retry after a
   * failed lookup) and moves it if it changed; a retry that fails again is tried later still.
   */
  #reconfirm(subscription: Tracked, retriedAfterMs?: number): void {
    const generation = subscription.generation;
    void this.#limit(async () => {
      if (generation !== subscription.generation || subscription.membership.stream.closed) return;
      const placement = await this.place(subscription.caller, subscription.args, subscription.text);
      if (generation !== subscription.generation) return;
      if (placement.unshared && retriedAfterMs !== undefined) this.#retryUnshared(subscription, retriedAfterMs * 2);
      if (placement.key === subscription.membership.key) return;
      subscription.generation++;
      this.#move(subscription, placement);
    });
  }

  #move(subscription: Tracked, placement: Placement): void {
    const start = this.#options.starter(subscription.args, placement.spec);
    subscription.membership.release(placement.key, placement.spec, start);
  }

  /**
   * A subscription that could share runs alone while its caller's set is unknown (authz busy or
   * down; as many as failed at once, each completing every event on its own): it is placed again
   * after 5–10 s, then twice as long each time it fails again, up to the sweep's interval.
   */
  #retryUnshared(subscription: Tracked, afterMs: number): void {
    if (afterMs >= this.#options.sweepMs) return; // the sweep tries it from then on
    setTimeout(() => this.#reconfirm(subscription, afterMs), afterMs * (1 + Math.random())).unref();
  }

  close(): void {
    clearInterval(this.#sweep);
    this.#stopListening?.();
  }
}
