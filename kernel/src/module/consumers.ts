import type { Subscription } from '../events/bus.js';
import type { ModuleConsumer, ModuleRuntime } from './define.js';

/** Closes what {@link startConsumers} subscribed; handlers in flight finish first. */
export type StopConsumers = () => Promise<void>;

/**
 * Subscribes a module's declared consumers (after its `onStart` hook), each with its group and
 * options, its handler given the runtime and services. Refuses two consumers in one group (on
 * Redis a group is one cursor over the stream: a second pattern would drop what it does not
 * match). If one cannot subscribe, those already subscribed are closed before the error is thrown.
 *
 * @returns the stop function, to run at shutdown before the services and the database close.
 */
export async function startConsumers<Config, Services>(
  consumers: ReadonlyArray<ModuleConsumer<Config, Services>> | undefined,
  runtime: ModuleRuntime<Config>,
  services: Services,
): Promise<StopConsumers> {
  const groups = new Set<string>();
  for (const { group } of consumers ?? []) {
    if (groups.has(group)) throw new Error(`${runtime.manifest.name}: two consumers share the group "${group}"`);
    groups.add(group);
  }
  const subscriptions: Subscription[] = [];
  const stop: StopConsumers = () => stopConsumers(subscriptions.splice(0));
  try {
    for (const consumer of consumers ?? []) {
      const { topic, group, maxAttempts, live } = consumer;
      const options = { group, ...(maxAttempts === undefined ? {} : { maxAttempts }), ...(live ? { live } : {}) };
      subscriptions.push(
        await runtime.bus.subscribe(topic, (event) => consumer.handler(event, runtime, services), options),
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}

/** Closes consumers' subscriptions together; each waits for its handler in flight. */
export async function stopConsumers(subscriptions: readonly Subscription[]): Promise<void> {
  await Promise.all(subscriptions.map((subscription) => subscription.close()));
}
