import { raw } from '@mikro-orm/core';
import { DEMO_USERS, type ModuleRuntime } from '@platform/kernel';
import { User } from './user/user.entity.js';

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
