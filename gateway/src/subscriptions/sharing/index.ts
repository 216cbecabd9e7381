import { print, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import { mapStream, type EventBus } from '@platform/kernel/gateway';
import type { DeliveryOptions, DeliveryStats, Subscriber, SubscriptionDelivery } from '../delivery.js';
import { carrierSession } from './carrier-session.js';
import { PermissionSets } from './permission-sets.js';
import { Placements } from './placements.js';
import { SharedFetches } from './shared-fetches.js';
import { SubscriptionGroups, type GroupSpec, type StartCarrier } from './subscription-groups.js';

// Subscription sharing's one entry point (docs/subscriptions.md). Nothing outside this folder
// imports anything else in it.

export interface SharingOptions extends DeliveryOptions {
  /** The supergraph (which fields answer per caller). */
  supergraph(): GraphQLSchema;
  /** Where callers' permission sets are asked; without, only callers who cannot be told apart share. */
  permissions:
    | {
        /** The permission service's base URL (authz). */
        url: string;
        /** Its name, its events' topic prefix (`auth.permissionService`). */
        service: string;
        /** Where its events arrive. */
        bus: EventBus;
        /** The permission cache's lifetime: every shared subscription's set is looked up again this often. */
        ttlMs: number;
        /** The deployment's service credential, for authz's internal route. */
        credential: string;
      }
    | undefined;
}

export interface SharingStats extends DeliveryStats {
  /** Groups running (each with one or two upstream subscriptions). */
  groups: number;
}

/** Runs client subscriptions in groups that share upstream subscriptions (see SubscriptionGroups, Placements). */
export interface SubscriptionSharing extends SubscriptionDelivery {
  stats(): SharingStats;
}

/** Starts sharing: permission sets are looked up (and their changes heard) from then on. */
export async function startSubscriptionSharing(options: SharingOptions): Promise<SubscriptionSharing> {
  const { permissions, logger } = options;
  const permissionSets = permissions ? await PermissionSets.start({ ...permissions, logger }) : undefined;
  return new SharedSubscriptions(options, permissionSets);
}

/** Without authz the sweep does not run; this only fills the option. */
const NO_SWEEP_MS = 60_000;

class SharedSubscriptions implements SubscriptionSharing {
  readonly #options: SharingOptions;
  readonly #permissionSets: PermissionSets | undefined;
  readonly #fetches = new SharedFetches();
  readonly #groups: SubscriptionGroups;
  readonly #placements: Placements;
  #upstreamSockets = 0;

  constructor(options: SharingOptions, permissionSets: PermissionSets | undefined) {
    this.#options = options;
    this.#permissionSets = permissionSets;
    this.#groups = new SubscriptionGroups({
      urls: options.urls,
      logger: options.logger,
      keepAliveMs: options.keepAliveMs,
      onSocket: (delta) => (this.#upstreamSockets += delta),
      serialize: options.serialize,
      delivered: options.delivered,
    });
    this.#placements = new Placements({
      supergraph: options.supergraph,
      permissionSets,
      sweepMs: options.permissions?.ttlMs ?? NO_SWEEP_MS,
      starter: (args, spec) => this.#starter(args, spec),
      logger: options.logger,
    });
  }

  async subscribe(subscriber: Subscriber, args: ExecutionArgs): Promise<AsyncIterableIterator<never>> {
    const text = print(args.document);
    const placement = await this.#placements.place(subscriber, args, text);
    // The group calls `stale` only once the subscription exists (an answer for another permission set).
    const membership = this.#groups.join(placement.key, placement.spec, this.#starter(args, placement.spec), {
      send: subscriber.send,
      closeSocket: subscriber.closeSocket,
      identity: subscriber.identity,
      sessionId: subscriber.user?.sessionId,
      stale: () => followed.stale(),
    });
    const followed = this.#placements.follow(subscriber, args, text, placement, membership);
    return mapStream(
      membership.stream,
      (value) => value,
      () => followed.end(),
    );
  }

  stats(): SharingStats {
    return { upstreamSockets: this.#upstreamSockets, groups: this.#groups.size };
  }

  async close(): Promise<void> {
    this.#placements.close();
    await this.#permissionSets?.close();
  }

  /** The upstream subscription a group's carrier runs: the event from its subgraph, completed across the others. */
  #starter(args: ExecutionArgs, spec: GroupSpec): StartCarrier {
    return (carrier) => this.#options.run(carrierSession(carrier, spec, this.#fetches), args);
  }
}
