import type { ModuleRuntime, SeedContext, SeedOutcome } from '@platform/kernel';
import type { IdentityConfig } from './config.js';
import type { IdentityServices } from './services.js';

/** What identity's seed provides to the modules seeded after it (authz gives it the `admin` role). */
export interface SeededAdministrator {
  id: string;
  email: string;
}

/**
 * The administrator from `SEED_ADMIN_EMAIL` / `SEED_ADMIN_PASSWORD`: created once, found again
 * on every later run (its password is not reset), and provided as `administrator` so authz can
 * give it (back) the `admin` role. An account with that email the seed did not make is refused
 * unless the operator asked to adopt it (see `AccountService.ensureAdministrator`).
 */
export async function seedAdmin(
  runtime: ModuleRuntime<IdentityConfig>,
  services: IdentityServices,
  context?: SeedContext,
): Promise<SeedOutcome> {
  const { email, password } = runtime.config.seedAdmin;
  if (!email || !password) {
    return { report: ['no administrator: SEED_ADMIN_EMAIL and SEED_ADMIN_PASSWORD are not both set'] };
  }
  const { user, action } = await services.accounts.ensureAdministrator(runtime.em(), {
    email,
    password,
    displayName: 'Administrator',
    adoptExisting: context?.adoptExisting ?? false,
  });
  runtime.logger.info({ userId: user.id, email: user.email, action }, 'seed administrator');
  const administrator: SeededAdministrator = { id: user.id, email: user.email };
  const said = {
    created: 'created',
    present: 'already present (password unchanged)',
    adopted: 'adopted: password set from SEED_ADMIN_PASSWORD, sessions ended, second factor and API keys removed',
  }[action];
  return { report: [`administrator ${user.email} (${user.id}): ${said}`], provides: { administrator } };
}
