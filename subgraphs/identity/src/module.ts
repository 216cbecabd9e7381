import { defineModule, publicAccess } from '@platform/kernel';
import { AccountResolver } from './account/account.resolver.js';
import { EmailToken } from './account/email-token.entity.js';
import { identityConfigSchema } from './config.js';
import { seedDemoUsers } from './demo.js';
import { migrations } from './migrations/index.js';
import { rules } from './rules.js';
import { seedAdmin } from './seed.js';
import { createIdentityServices, type IdentityServices } from './services.js';
import { RefreshToken, Session } from './session/session.entity.js';
import { SessionResolver } from './session/session.resolver.js';
import { AuthPayload } from './account/account.types.js';
import { User } from './user/user.entity.js';
import { resolveUserReference } from './user/user.reference.js';
import { UserResolver } from './user/user.resolver.js';

export default defineModule<typeof identityConfigSchema, IdentityServices>({
  manifest: new URL('../module.yaml', import.meta.url),
  config: identityConfigSchema,
  entities: [User, Session, RefreshToken, EmailToken],
  migrations,
  resolvers: [UserResolver, AccountResolver, SessionResolver],
  orphanedTypes: [AuthPayload],
  // Profiles are public; `email` and `emailVerified` keep their own field rules.
  references: { User: { rule: publicAccess, resolve: resolveUserReference } },
  rules,
  services: createIdentityServices,
  localKeys: (services) => services.keys.jwks(),
  routes(router, _runtime, services) {
    // Public keys for every service's token verifier; cached briefly, refetched on an unknown kid.
    router.get('/.well-known/jwks.json', (_req, res) => {
      res.set('cache-control', 'public, max-age=300').json(services.keys.jwks());
    });
  },
  hooks: {
    async onStart(runtime) {
      if (runtime.platform.demoData) await seedDemoUsers(runtime);
    },
    // `platformctl seed`, and automatic in development: the first administrator.
    async seed(runtime, services) {
      await seedAdmin(runtime, services);
    },
  },
});
