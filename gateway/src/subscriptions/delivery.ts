import type { ExecutionArgs } from 'graphql';
import type { Logger } from '@platform/kernel';
import type { CloseReason, SocketUser } from '@platform/kernel/gateway';
import type { SocketSession, SubscriptionResult } from './federated.js';
import type { UpstreamIdentity } from './upstream.js';

// What the socket server (server.ts) asks of whatever runs its subscriptions: the plain path
// (per-caller.ts: one upstream subscription per client subscription) or sharing (sharing/: one
// upstream subscription per group of callers with provably the same answers). Neither imports
// the other; both take a `run` that is the federated path (federated.ts) bound to the planner.

/** One client subscription: who runs it, and where its frames go. */
export interface Subscriber {
  readonly user: SocketUser | undefined;
  /** The caller's own credentials, carried upstream: one object per client socket, which its subscriptions share. */
  readonly identity: UpstreamIdentity;
  /** Writes one serialized result as a `next` frame of the operation; false when not written (gone, or too far behind). */
  send(payload: string): boolean;
  /** Closes the client socket (a subgraph closed the upstream socket carrying these credentials: 4401/4403). */
  closeSocket(reason: CloseReason): void;
}

/** What one event delivered was: its root field and when it was published upstream (epoch ms, if known). */
export interface Delivery {
  field: string;
  publishedAt: number | undefined;
}

/** What both ways of running subscriptions are given. */
export interface DeliveryOptions {
  /** Subgraph name → GraphQL URL. */
  urls: Readonly<Record<string, string>>;
  logger: Logger;
  keepAliveMs: number;
  /** The federated path: plans `args` and streams its completed events over `session`'s upstream. */
  run(session: SocketSession, args: ExecutionArgs): AsyncIterableIterator<SubscriptionResult>;
  /** The payload a `next` frame carries for `result` (masked and serialized once per event). */
  serialize(result: SubscriptionResult): string;
  /** Told once per event of how many sockets it was written to, and how long the writes took (after them). */
  delivered(delivery: Delivery | undefined, sockets: number, writeSeconds: number): void;
}

/** Live counts, for stats and tests proving nothing outlives its clients. */
export interface DeliveryStats {
  /** Upstream sockets to subgraphs open. */
  upstreamSockets: number;
}

/**
 * Runs client subscriptions. `subscribe` writes each event through `subscriber.send`; the stream
 * it returns carries no value: it ends when the subscription does (graphql-ws then sends
 * `complete`), and closing it (`return`, when the client completes or leaves) ends the subscription.
 */
export interface SubscriptionDelivery {
  subscribe(subscriber: Subscriber, args: ExecutionArgs): Promise<AsyncIterableIterator<never>>;
  stats(): DeliveryStats;
  close(): Promise<void>;
}
