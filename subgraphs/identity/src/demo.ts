import { raw } from '@mikro-orm/core';
import type { ModuleRuntime } from '@platform/kernel';
import { User } from './user/user.entity.js';

/**
 * Demo accounts for development (`demoData: true`): identity creates them and blog writes posts
 * by them (blog's demo.ts names the same ids), so `npm start` shows a working cross-subgraph
 * query on an empty machine. Fixed ids let modules agree without reading each other's tables.
 */
export const DEMO_USERS = [
  { id: '00000000-0000-4000-8000-000000000001', email: 'ada@example.com', displayName: 'Ada Lovelace' },
  { id: '00000000-0000-4000-8000-000000000002', email: 'grace@example.com', displayName: 'Grace Hopper' },
] as const;

/**
 * The demo users with their fixed ids, once (development, `demoData: true`). A user already
 * holding a demo id or email is left alone, so restarts and real sign-ups never collide.
 */
export async function seedDemoUsers(runtime: ModuleRuntime): Promise<void> {
  const em = runtime.em();
  const existing = await em.find(User, {
    $or: [
      { id: { $in: DEMO_USERS.map((u) => u.id) } },
      { [raw('lower(email)')]: { $in: DEMO_USERS.map((u) => u.email.toLowerCase()) } },
    ],
  });
  const taken = new Set(existing.flatMap((user) => [user.id, user.email.toLowerCase()]));
  const missing = DEMO_USERS.filter((demo) => !taken.has(demo.id) && !taken.has(demo.email));
  if (missing.length === 0) return;
  for (const demo of missing) {
    em.create(User, { id: demo.id, email: demo.email, displayName: demo.displayName, emailVerified: true });
  }
  await em.flush();
  runtime.logger.info({ users: missing.length }, 'demo users created');
}
