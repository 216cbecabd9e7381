/** `platformctl seed`: the administrator account and its roles, in identity's and authz's schemas. */
import { describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { loadConfig, withModuleRuntime } from '@platform/kernel/testing';
import identityModule from '@platform/identity';
import authzModule from '@platform/authz';
import { platformctl, REPO, tempDir } from './platformctl-cli.js';

describe('platformctl seed', () => {
  it('creates the administrator with the admin role, repairs a lost role, refuses a taken address unless adopting, and a weak password', async () => {
    const dataDir = tempDir('platformctl-seed-');
    const tag = randomBytes(4).toString('hex');
    const schemas = { identity: `t_${tag}_identity`, authz: `t_${tag}_authz` };
    const env = {
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      PLATFORM_ENV: 'test',
      PLATFORM_SERVICES__IDENTITY__DB_SCHEMA: schemas.identity,
      PLATFORM_SERVICES__AUTHZ__DB_SCHEMA: schemas.authz,
      SEED_ADMIN_EMAIL: 'Chief@Example.com',
      SEED_ADMIN_PASSWORD: 'a long and private passphrase',
    };
    const config = loadConfig({ env: { ...process.env, ...env }, cwd: REPO });
    const inIdentity = <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
      withModuleRuntime(identityModule, config, (runtime) => runtime.em().execute<T[]>(sql, params));
    const inAuthz = <T>(sql: string, params: unknown[] = []): Promise<T[]> =>
      withModuleRuntime(authzModule, config, (runtime) => runtime.em().execute<T[]>(sql, params));
    const rolesOf = async (email: string): Promise<string[]> => {
      const [user] = await inIdentity<{ id: string }>(`select id from "${schemas.identity}"."user" where email = ?`, [
        email,
      ]);
      const rows = await inAuthz<{ name: string }>(
        `select r.name from "${schemas.authz}"."role_assignment" a join "${schemas.authz}"."role" r on r.id = a.role_id
         where a.user_id = ? order by r.name`,
        [user!.id],
      );
      return rows.map((row) => row.name);
    };
    try {
      const first = await platformctl(['seed'], env);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toContain('identity: seeded');
      expect(first.stdout).toMatch(/administrator chief@example\.com \([0-9a-f-]{36}\): created/);
      expect(first.stdout).toContain('roles user, admin (given now: user, admin)');
      expect(await rolesOf('chief@example.com')).toEqual(['admin', 'user']);
      expect(await inIdentity(`select email, email_verified from "${schemas.identity}"."user"`)).toEqual([
        { email: 'chief@example.com', email_verified: true },
      ]);

      // The production drift: authz started without SEED_ADMIN_* gave the account only `user`.
      await inAuthz(
        `delete from "${schemas.authz}"."role_assignment" where role_id = (select id from "${schemas.authz}"."role" where name = 'admin')`,
      );
      expect(await rolesOf('chief@example.com')).toEqual(['user']);
      const repaired = await platformctl(['seed'], env);
      expect(repaired.code).toBe(0);
      expect(repaired.stdout).toContain('already present (password unchanged)');
      expect(repaired.stdout).toContain('(given now: admin)');
      expect(await rolesOf('chief@example.com')).toEqual(['admin', 'user']);
      const again = await platformctl(['seed'], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('roles user, admin already held');

      // Someone registered the configured address before the seed: not made administrator...
      // The squatter had set up a second factor and an API key: neither may outlive the adoption.
      const squatterId = randomUUID();
      await inIdentity(
        `insert into "${schemas.identity}"."user" (id, email, display_name, email_verified, created_at, updated_at, password_hash)
         values (?, 'taken@example.com', 'Squatter', false, now(), now(), null)`,
        [squatterId],
      );
      await inIdentity(
        `insert into "${schemas.identity}"."totp_credential" (user_id, secret_jwe, kek_id, created_at, confirmed_at)
         values (?, 'sealed', 'kek', now(), now())`,
        [squatterId],
      );
      await inIdentity(
        `insert into "${schemas.identity}"."api_key" (id, owner_id, created_by, name, prefix, secret_hash, permissions, created_at)
         values (?, ?, ?, 'squatter key', 'plk_squatter', ?, '[]', now())`,
        [randomUUID(), squatterId, squatterId, 'f'.repeat(64)],
      );
      const taken = { ...env, SEED_ADMIN_EMAIL: 'taken@example.com' };
      const refused = await platformctl(['seed'], taken);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'identity: seed failed: An account with taken@example.com exists that the seed did not create',
      );
      expect(refused.stderr).toContain('authz: not seeded: identity failed before it');
      expect(await rolesOf('taken@example.com')).toEqual([]);
      // ...unless the operator adopts it: the seed's password, verified, administrator.
      const adopted = await platformctl(['seed', '--adopt-existing'], taken);
      expect(adopted.code).toBe(0);
      expect(adopted.stdout).toContain('adopted: password set from SEED_ADMIN_PASSWORD, sessions ended');
      expect(await rolesOf('taken@example.com')).toEqual(['admin', 'user']);
      expect(
        await inIdentity(
          `select email_verified, seeded_at is not null as seeded from "${schemas.identity}"."user" where email = 'taken@example.com'`,
        ),
      ).toEqual([{ email_verified: true, seeded: true }]);
      expect(
        await inIdentity(`select 1 from "${schemas.identity}"."totp_credential" where user_id = ?`, [squatterId]),
      ).toEqual([]);
      expect(
        await inIdentity(
          `select revoked_at is not null as revoked from "${schemas.identity}"."api_key" where owner_id = ?`,
          [squatterId],
        ),
      ).toEqual([{ revoked: true }]);

      const weak = await platformctl(['seed'], {
        ...env,
        SEED_ADMIN_EMAIL: 'other@example.com',
        SEED_ADMIN_PASSWORD: 'password1',
      });
      expect(weak.code).toBe(1);
      expect(weak.stderr).toContain('identity: seed failed');
    } finally {
      if (config.database.url) {
        await inIdentity(`drop schema if exists "${schemas.identity}" cascade`);
        await inAuthz(`drop schema if exists "${schemas.authz}" cascade`);
      }
    }
  }, 300_000); // seven CLI runs with password hashing and ~25 embedded-database opens: slow when the machine is busy
});
