import { PlatformError } from '../errors.js';
import type { FailureListener, Subscription } from '../events/bus.js';
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
      const options = {
        group,
        ...(maxAttempts === undefined ? {} : { maxAttempts }),
        ...(live ? { live } : {}),
        onFailure: reportFailure(runtime),
      };
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

/**
 * A consumer's failed delivery goes to the error bus (kind `consumer`) when the event is now
 * dead-lettered, or when the handler threw something unexpected; a typed error (a PlatformError:
 * "not yet") on a delivery that will be retried is left to the bus's own warning.
 */
function reportFailure<Config>(runtime: ModuleRuntime<Config>): FailureListener {
  return (error, { event, group, attempt, dead }) => {
    if (!dead && error instanceof PlatformError) return false;
    return runtime.errors.report(error, {
      kind: 'consumer',
      message: dead
        ? 'event handler failed for the last time; event dead-lettered'
        : 'event handler failed; will retry',
      topic: event.topic,
      eventId: event.id,
      group,
      attempt,
      ...(dead ? { dead: true } : {}),
      // Whoever caused the event: a consumer runs outside the request that recorded it.
      ...(event.meta?.requestId ? { requestId: event.meta.requestId } : {}),
      ...(event.meta?.traceId ? { traceId: event.meta.traceId } : {}),
      ...(event.meta?.actorId ? { userId: event.meta.actorId } : {}),
    });
  };
}

/** Closes consumers' subscriptions together; each waits for its handler in flight. */
export async function stopConsumers(subscriptions: readonly Subscription[]): Promise<void> {
  await Promise.all(subscriptions.map((subscription) => subscription.close()));
}
