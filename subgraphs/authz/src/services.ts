import { emitter, type ModuleRuntime } from '@platform/kernel';
import { AssignmentService } from './assignment/assignment.service.js';
import { IdentityEventConsumer } from './assignment/identity-events.js';
import { guestAllowList, type AuthzConfig } from './config.js';
import { OrganizationEventConsumer } from './assignment/organization-events.js';
import type { AuthzEvents } from './events.js';
import { PermissionCatalogue } from './grant/catalogue.js';
import { DelegationPolicy } from './grant/delegation.js';
import { EffectivePermissionQuery, LocalPermissions } from './grant/effective.js';
import { BuiltInRoles } from './role/built-in-roles.js';
import { RoleService } from './role/role.service.js';

/** Everything authz's hooks, routes and resolvers use, built once the database is up. */
export interface AuthzServices {
  catalogue: PermissionCatalogue;
  /** Who may hand out, take away or reshape which authority; the guest allow-list. */
  delegation: DelegationPolicy;
  roles: RoleService;
  builtInRoles: BuiltInRoles;
  assignments: AssignmentService;
  effective: EffectivePermissionQuery;
  /** authz's own `ctx.can()`, read from its database. */
  permissions: LocalPermissions;
  /** identity's user events (the kernel runs `identityUserConsumer`, module.ts). */
  identityEvents: IdentityEventConsumer;
  /** identity's organization events: organizations' built-in roles and members (`identityOrganizationConsumer`). */
  organizationEvents: OrganizationEventConsumer;
}

export function createAuthzServices(runtime: ModuleRuntime<AuthzConfig>): AuthzServices {
  const emit = emitter<AuthzEvents>(runtime.events);
  const schema = runtime.db.schema;
  const catalogue = new PermissionCatalogue();
  const organizationAllowList = new Set(runtime.config.organizationAllowList);
  const effective = new EffectivePermissionQuery({ schema, catalogue, organizationAllowList });
  const delegation = new DelegationPolicy({ effective, catalogue, guestAllowList: guestAllowList(runtime.config) });
  const assignments = new AssignmentService({ emit, schema, delegation });
  const identityEvents = new IdentityEventConsumer({ runtime, assignments });
  return {
    catalogue,
    delegation,
    roles: new RoleService({ emit, catalogue, delegation, organizationAllowList }),
    builtInRoles: new BuiltInRoles({ emit, catalogue, delegation, schema }),
    assignments,
    effective,
    permissions: new LocalPermissions(effective, () => runtime.em()),
    identityEvents,
    organizationEvents: new OrganizationEventConsumer({
      runtime,
      assignments,
      emit,
      roles: runtime.config.organizationRoles,
    }),
  };
}
