import type { ModuleRuntime } from '@platform/kernel';
import { AssignmentService } from './assignment/assignment.service.js';
import { IdentityEventConsumer } from './assignment/identity-events.js';
import type { Emit } from './events.js';

/** Everything authz's hooks and resolvers use, built once the database is up. */
export interface AuthzServices {
  assignments: AssignmentService;
  /** identity's user events; consumed from `onStart` on. */
  identityEvents: IdentityEventConsumer;
  close(): Promise<void>;
}

export function createAuthzServices(runtime: ModuleRuntime): AuthzServices {
  const emit: Emit = (em, topic, payload, meta) => runtime.events.record(em, topic, payload, meta);
  const assignments = new AssignmentService({ emit, schema: runtime.db.schema });
  const identityEvents = new IdentityEventConsumer({ runtime, assignments });
  return {
    assignments,
    identityEvents,
    // The kernel calls this before the database closes, so no handler outlives it (a bus
    // shared with other services stays open after this module stops).
    close: () => identityEvents.stop(),
  };
}
