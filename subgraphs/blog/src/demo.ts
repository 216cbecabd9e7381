import type { ModuleRuntime } from '@platform/kernel';
import { Post } from './post/post.entity.js';

/**
 * The authors of the demo posts: identity's demo accounts (its demo.ts creates them). Their ids
 * are fixed so the modules agree without reading each other's tables; the names are for the
 * posts' text only (identity resolves `author`).
 */
const DEMO_AUTHORS = [
  { id: '00000000-0000-4000-8000-000000000001', displayName: 'Ada Lovelace' },
  { id: '00000000-0000-4000-8000-000000000002', displayName: 'Grace Hopper' },
] as const;

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
    const author = DEMO_AUTHORS[index % DEMO_AUTHORS.length]!;
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
