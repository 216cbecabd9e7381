import { defineModule } from '@platform/kernel';
import { migrations } from './migrations/index.js';
import { Post } from './post/post.entity.js';
import { resolvePostReference } from './post/post.reference.js';
import { PostResolver } from './post/post.resolver.js';
import { UserRef } from './user/user.stub.js';
import { rules } from './rules.js';
import { seedDemoPosts } from './demo.js';

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  entities: [Post],
  migrations,
  resolvers: [PostResolver],
  orphanedTypes: [UserRef],
  references: { Post: resolvePostReference },
  rules,
  hooks: {
    async onStart(runtime) {
      if (runtime.platform.demoData) await seedDemoPosts(runtime);
    },
  },
});
