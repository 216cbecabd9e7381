import type { ModuleRuntime, SeedContext, SeedOutcome } from '@platform/kernel';
import { PLATFORM } from '../grant/delegation.js';
import type { AuthzServices } from '../services.js';

/** The roles of the seeded administrator. */
const ADMINISTRATOR_ROLES = ['user', 'admin'];

/**
 * `platformctl seed`, after identity's: the built-in roles, and the administrator identity
 * provided holding `user` and `admin`, whatever happened before (an authz that started without
 * `SEED_ADMIN_EMAIL` gave the seeded account only `user`; someone took `admin` away). Each role
 * given back is an `authz.assignment.created` event like any other, so it is audited.
 */
export async function seedAdministratorRoles(
  runtime: ModuleRuntime,
  services: AuthzServices,
  context?: SeedContext,
): Promise<SeedOutcome> {
  const em = runtime.em();
  const created = await services.builtInRoles.ensure(em);
  const report = created.length > 0 ? [`built-in roles created: ${created.join(', ')}`] : [];
  const administrator = context?.provided('identity')?.administrator as { id?: unknown; email?: unknown } | undefined;
  if (typeof administrator?.id !== 'string')
    return { report: [...report, 'no administrator from identity: no roles given'] };
  const userId = administrator.id;
  await services.assignments.rememberUser(em, userId);
  const given: string[] = [];
  for (const role of ADMINISTRATOR_ROLES) {
    if (await services.assignments.assignRole(em, userId, role, PLATFORM, {})) given.push(role);
  }
  const held = `roles ${ADMINISTRATOR_ROLES.join(', ')}`;
  report.push(
    `administrator ${String(administrator.email)} (${userId}): ${given.length ? `${held} (given now: ${given.join(', ')})` : `${held} already held`}`,
  );
  if (given.length > 0) runtime.logger.info({ userId, roles: given }, 'seed administrator roles given');
  return { report };
}
