import { defineModule, permission } from '@platform/kernel';
import { blogConfigSchema } from './config.js';
import { migrations } from './migrations/index.js';
import { Permission } from './permissions.generated.js';
import { userDeletedConsumer } from './post/identity-events.js';
import { Post } from './post/post.entity.js';
import { resolvePostReference } from './post/post.reference.js';
import { PostResolver } from './post/post.resolver.js';
import { rules } from './rules.js';
import { createBlogServices } from './services.js';
import { seedDemoPosts } from './demo.js'; // reference-only: demo posts
import { postFeedConsumer } from './post/post.feed.js'; // reference-only: the postCreated subscription
import { PostSubscriptionResolver } from './post/post.subscription.js'; // reference-only: postCreated
import { userReference } from './user/user.reference.js'; // reference-only: User.posts
import { UserPostsResolver } from './user/user.resolver.js'; // reference-only: User.posts

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  config: blogConfigSchema,
  entities: [Post],
  migrations,
  resolvers: [
    PostResolver,
    PostSubscriptionResolver, // reference-only: postCreated
    UserPostsResolver, // reference-only: User.posts
  ],
  references: {
    // Other subgraphs look a post up by id only on behalf of a caller who may read it.
    Post: { rule: permission(Permission.PostRead), resolve: resolvePostReference },
    User: userReference, // reference-only: User.posts
  },
  rules,
  services: createBlogServices,
  consumers: [
    userDeletedConsumer,
    postFeedConsumer, // reference-only: postCreated
  ],
  // Queues; the schedules of module.yaml name them as handlers and run once per deployment per tick.
  jobs: {
    'delete-expired-posts': {
      attempts: 3,
      timeoutMs: 10 * 60_000,
      async handler(_payload, runtime, services, job) {
        const days = runtime.config.retentionDays;
        if (days === null) return; // posts are kept forever
        const cutoff = new Date(Date.now() - days * 86_400_000);
        const deleted = await services.posts.deleteCreatedBefore(runtime.em(), cutoff, { signal: job.signal });
        job.logger.info({ deleted, cutoff }, 'expired posts deleted');
      },
    },
  },
  // reference-only:start (demo posts in development)
  hooks: {
    async onStart(runtime) {
      if (runtime.platform.demoData) await seedDemoPosts(runtime);
    },
  },
  // reference-only:end
});
