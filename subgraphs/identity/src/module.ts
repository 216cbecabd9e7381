import { defineModule } from '@platform/kernel';
import { migrations } from './migrations/index.js';
import { User } from './user/user.entity.js';
import { resolveUserReference } from './user/user.reference.js';
import { UserResolver } from './user/user.resolver.js';
import { rules } from './rules.js';
import { seedDemoUsers } from './demo.js';

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  entities: [User],
  migrations,
  resolvers: [UserResolver],
  references: { User: resolveUserReference },
  rules,
  hooks: {
    async onStart(runtime) {
      if (runtime.platform.demoData) await seedDemoUsers(runtime);
    },
  },
});
