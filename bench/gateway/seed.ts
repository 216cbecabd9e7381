// The benchmark's data, written straight into identity's and blog's databases before the platform
// starts: `users` accounts (all with one password, hashed once: 1,000 argon2 hashes would take
// half a minute of both cores) and `posts` posts spread over them, newest first. Each module's
// database is opened the way `platformctl seed` opens it (migrated, no server), then filled with
// two set-based INSERTs, so seeding 11,000 rows takes a second, not 11,000 GraphQL calls.
import { randomUUID } from 'node:crypto';
import argon2 from 'argon2';
import { type PlatformConfig } from '@platform/kernel';
import { withModuleRuntime } from '@platform/kernel/tools';
import identity from '@platform/identity';
import blog from '@platform/blog';

export interface SeedSpec {
  users: number;
  posts: number;
}

export interface Seeded {
  userIds: string[];
  /** `bench-<i>@example.com`, i from 0. */
  emails: string[];
  password: string;
  seconds: number;
}

export const SEED_PASSWORD = 'gateway bench passphrase 2026';

/** identity's argon2id parameters (OWASP's minimum), so a login never rehashes a seeded password. */
const ARGON2 = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export async function seedData(config: PlatformConfig, spec: SeedSpec): Promise<Seeded> {
  const started = performance.now();
  const userIds = Array.from({ length: spec.users }, () => randomUUID());
  const emails = userIds.map((_, i) => `bench-${i}@example.com`);
  const passwordHash = await argon2.hash(SEED_PASSWORD, ARGON2);

  await withModuleRuntime(identity, config, async (runtime) => {
    const em = runtime.em();
    await em.execute(
      `insert into ${runtime.db.schema}."user"
         (id, email, display_name, email_verified, password_hash, password_changed_at, created_at, updated_at)
       select u.id, 'bench-' || (u.n - 1) || '@example.com', 'Bench Author ' || (u.n - 1), true, ?,
              now(), now() - u.n * interval '1 minute', now()
       from unnest(array[?]::uuid[]) with ordinality as u (id, n)`,
      [passwordHash, userIds],
    );
  });
  await withModuleRuntime(blog, config, async (runtime) => {
    const em = runtime.em();
    await em.execute(
      `insert into ${runtime.db.schema}.post (id, title, content, author_id, created_at, updated_at)
       select gen_random_uuid(), 'Benchmark post ' || g, 'The body of benchmark post ' || g || '.',
              (array[?]::uuid[])[1 + (g % ?)], now() - g * interval '1 second', now()
       from generate_series(1, ?) as g`,
      [userIds, userIds.length, spec.posts],
    );
  });
  return { userIds, emails, password: SEED_PASSWORD, seconds: (performance.now() - started) / 1000 };
}
