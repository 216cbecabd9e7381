import { defineModule, permission, publicAccess } from '@platform/kernel';
import { seedDemoPosts } from './demo.js';
import { migrations } from './migrations/index.js';
import { Permission } from './permissions.generated.js';
import { userDeletedConsumer } from './post/identity-events.js';
import { Post } from './post/post.entity.js';
import { postFeedConsumer } from './post/post.feed.js';
import { resolvePostReference } from './post/post.reference.js';
import { PostResolver } from './post/post.resolver.js';
import { PostSubscriptionResolver } from './post/post.subscription.js';
import { rules } from './rules.js';
import { createBlogServices } from './services.js';
import { resolveUserReference } from './user/user.reference.js';
import { UserPostsResolver } from './user/user.resolver.js';

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  entities: [Post],
  migrations,
  resolvers: [PostResolver, PostSubscriptionResolver, UserPostsResolver],
  references: {
    Post: { rule: permission(Permission.PostRead), resolve: resolvePostReference },
    // Only the id: `posts` carries its own rule.
    User: { rule: publicAccess, resolve: resolveUserReference },
  },
  rules,
  services: createBlogServices,
  consumers: [userDeletedConsumer, postFeedConsumer],
  hooks: {
    async onStart(runtime) {
      if (runtime.platform.demoData) await seedDemoPosts(runtime);
    },
  },
});
