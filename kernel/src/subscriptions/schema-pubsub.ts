import type { PubSub } from 'type-graphql';

/**
 * type-graphql refuses to build a schema with `@Subscription` fields unless given a pub/sub,
 * even when every field brings its own `subscribe`. Modules subscribe through their runtime's
 * PlatformPubSub (Redis-backed when configured) in `subscribe`; `topics` are not supported, and
 * this says so if a module tries.
 */
export const topicsUnsupported: PubSub = {
  publish() {
    throw new Error('Publish through ModuleRuntime.pubsub, not type-graphql');
  },
  subscribe() {
    throw new Error('@Subscription({ topics }) is not supported: use { subscribe } with ModuleRuntime.pubsub');
  },
};
