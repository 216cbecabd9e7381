import { DEMO_USERS, type ModuleRuntime } from '@platform/kernel';
import { Post } from './post/post.entity.js';

const TITLES = [
  'Hello, supergraph',
  'Why every module owns its schema',
  'Federation without the pain',
  'Permissions as data',
  'An audit log you can trust',
];

/** Demo posts by the demo users, once (development, `demoData: true`). */
export async function seedDemoPosts(runtime: ModuleRuntime): Promise<void> {
  const em = runtime.em();
  if ((await em.count(Post, {})) > 0) return;
  TITLES.forEach((title, index) => {
    const author = DEMO_USERS[index % DEMO_USERS.length]!;
    em.create(Post, {
      title,
      content: `${title}. A demo post written by ${author.displayName}.`,
      authorId: author.id,
      createdAt: new Date(Date.UTC(2026, 0, 1 + index)),
    });
  });
  await em.flush();
  runtime.logger.info({ posts: TITLES.length }, 'demo posts created');
}
