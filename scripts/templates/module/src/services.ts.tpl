import type { ModuleRuntime } from '@platform/kernel';
import type { Emit } from './events.js';
import { IdentityEventConsumer } from './__resource__/identity-events.js';
import { __Resource__Service } from './__resource__/__resource__.service.js';

/** Everything __name__'s hooks and resolvers use, built once the database is up. */
export interface __Name__Services {
  __resources__: __Resource__Service;
  /** identity's `identity.user.deleted`, consumed from `onStart` on. */
  identityEvents: IdentityEventConsumer;
  close(): Promise<void>;
}

export function create__Name__Services(runtime: ModuleRuntime): __Name__Services {
  const emit: Emit = (em, topic, payload, meta) => runtime.events.record(em, topic, payload, meta);
  const service = new __Resource__Service({ emit });
  const identityEvents = new IdentityEventConsumer({ runtime, service });
  return {
    __resources__: service,
    identityEvents,
    // Called by the kernel before the database closes, so no handler outlives it.
    close: () => identityEvents.stop(),
  };
}
