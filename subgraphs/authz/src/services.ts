import type { ModuleRuntime } from '@platform/kernel';
import { AssignmentService } from './assignment/assignment.service.js';
import { IdentityEventConsumer } from './assignment/identity-events.js';
import type { Emit } from './events.js';
import { PermissionCatalogue } from './grant/catalogue.js';
import { EffectivePermissionQuery, LocalPermissions } from './grant/effective.js';
import { RoleService } from './role/role.service.js';

/** Everything authz's hooks, routes and resolvers use, built once the database is up. */
export interface AuthzServices {
  catalogue: PermissionCatalogue;
  roles: RoleService;
  assignments: AssignmentService;
  effective: EffectivePermissionQuery;
  /** authz's own `ctx.can()`, read from its database. */
  permissions: LocalPermissions;
  /** identity's user events; consumed from `onStart` on. */
  identityEvents: IdentityEventConsumer;
  close(): Promise<void>;
}

export function createAuthzServices(runtime: ModuleRuntime): AuthzServices {
  const emit: Emit = (em, topic, payload, meta) => runtime.events.record(em, topic, payload, meta);
  const catalogue = new PermissionCatalogue();
  const assignments = new AssignmentService({ emit, schema: runtime.db.schema });
  const effective = new EffectivePermissionQuery({ schema: runtime.db.schema, catalogue });
  const identityEvents = new IdentityEventConsumer({ runtime, assignments });
  return {
    catalogue,
    roles: new RoleService({ emit, catalogue }),
    assignments,
    effective,
    permissions: new LocalPermissions(effective, () => runtime.em()),
    identityEvents,
    // The kernel calls this before the database closes, so no handler outlives it (a bus
    // shared with other services stays open after this module stops).
    close: () => identityEvents.stop(),
  };
}
