import type { ModuleRuntime } from '@platform/kernel';
import type { IdentityConfig } from './config.js';
import type { IdentityServices } from './services.js';

/**
 * The first administrator from `SEED_ADMIN_EMAIL` / `SEED_ADMIN_PASSWORD`, created once; an
 * existing account with that email is left as it is. The authz module recognises the same
 * email and gives the account the `admin` role.
 */
export async function seedAdmin(
  runtime: ModuleRuntime<IdentityConfig>,
  services: IdentityServices,
): Promise<{ id: string; email: string } | null> {
  const { email, password } = runtime.config.seedAdmin;
  if (!email || !password) return null;
  const user = await services.accounts.ensureUser(runtime.em(), email, password, 'Administrator');
  runtime.logger.info({ userId: user.id, email: user.email }, 'seed administrator present');
  return { id: user.id, email: user.email };
}
