import { defineModule, publicAccess, REVOCATIONS_PATH, revocationHoldMs } from '@platform/kernel';
import { AccountResolver } from './account/account.resolver.js';
import { EmailToken } from './account/email-token.entity.js';
import { identityConfigSchema } from './config.js';
import { seedDemoUsers } from './demo.js';
import { migrations } from './migrations/index.js';
import { rules } from './rules.js';
import { seedAdmin } from './seed.js';
import { createIdentityServices, type IdentityServices } from './services.js';
import { signingKeyRoutes } from './keys/signing-keys.routes.js';
import { recentRevocations } from './session/revocations.js';
import { RefreshToken, Session } from './session/session.entity.js';
import { SessionResolver } from './session/session.resolver.js';
import { revocationFeedConsumer } from './session/session-revocation.feed.js';
import { SessionRevocationSubscriptionResolver } from './session/session-revocation.subscription.js';
import { AuthPayload } from './account/account.types.js';
import { User } from './user/user.entity.js';
import { resolveUserReference } from './user/user.reference.js';
import { UserResolver } from './user/user.resolver.js';

export default defineModule<typeof identityConfigSchema, IdentityServices>({
  manifest: new URL('../module.yaml', import.meta.url),
  config: identityConfigSchema,
  entities: [User, Session, RefreshToken, EmailToken],
  migrations,
  resolvers: [UserResolver, AccountResolver, SessionResolver, SessionRevocationSubscriptionResolver],
  orphanedTypes: [AuthPayload],
  // Profiles are public; `email` and `emailVerified` keep their own field rules.
  references: { User: { rule: publicAccess, resolve: resolveUserReference } },
  rules,
  services: createIdentityServices,
  consumers: [revocationFeedConsumer],
  localKeys: (services) => services.keys.jwks(),
  // identity's own token verifier reads the durable revocations from its own database.
  localRevocations: (runtime) => async (since) => {
    const asOfMs = Date.now();
    const snapshot = await recentRevocations(runtime.em(), revocationHoldMs(runtime.platform), since);
    return { snapshot, asOfMs };
  },
  routes(router, runtime, services) {
    // Public keys for every service's token verifier; cached briefly, refetched on an unknown kid.
    router.get('/.well-known/jwks.json', (_req, res) => {
      res.set('cache-control', 'public, max-age=300').json(services.keys.jwks());
    });
    signingKeyRoutes(router, runtime, services.keys);
    // Sessions ended and users deleted within one access-token lifetime (since `?since=<ms>`
    // when given), read by every service every few seconds so none honours a revoked token
    // for longer than auth.revocationBoundSec. Internal: services only (the kernel checks the
    // service credential on /internal/*); the gateway does not route it.
    router.get(REVOCATIONS_PATH, async (req, res) => {
      const since =
        typeof req.query.since === 'string' && /^\d{1,15}$/.test(req.query.since) ? Number(req.query.since) : undefined;
      const asOfMs = Date.now();
      const snapshot = await recentRevocations(runtime.em(), revocationHoldMs(runtime.platform), since);
      res.set('cache-control', 'no-store').json({ ...snapshot, asOfMs });
    });
  },
  hooks: {
    async onStart(runtime) {
      if (runtime.platform.demoData) await seedDemoUsers(runtime);
    },
    // `platformctl seed`, and automatic in development: the first administrator.
    seed: seedAdmin,
  },
});
