import { defineModule, publicAccess } from '@platform/kernel';
import { revocationHoldMs } from '@platform/kernel/contracts';
import { AccountResolver } from './account/account.resolver.js';
import { ApiKey } from './apikey/api-key.entity.js';
import { ApiKeyResolver } from './apikey/api-key.resolver.js';
import { apiKeyRoutes } from './apikey/api-key.routes.js';
import { EmailToken } from './account/email-token.entity.js';
import { identityConfigSchema } from './config.js';
import { seedDemoUsers } from './demo.js';
import { identityMailTemplates } from './mail/index.js';
import { migrations } from './migrations/index.js';
import { rules } from './rules.js';
import { seedAdmin } from './seed.js';
import { createIdentityServices, type IdentityServices } from './services.js';
import { signingKeyRoutes } from './keys/signing-keys.routes.js';
import { recentRevocations } from './session/revocations.js';
import { RefreshToken, Session } from './session/session.entity.js';
import { SessionResolver } from './session/session.resolver.js';
import { RecoveryCode, TotpCredential } from './totp/totp.entity.js';
import { TotpResolver } from './totp/totp.resolver.js';
import { revocationFeedConsumer } from './session/session-revocation.feed.js';
import { deleteExpiredCredentials } from './session/cleanup.js';
import { SessionRevocationSubscriptionResolver } from './session/session-revocation.subscription.js';
import { AuthPayload } from './account/account.types.js';
import { User } from './user/user.entity.js';
import { Upload } from './avatar/upload.entity.js';
import { UploadResolver } from './avatar/upload.resolver.js';
import { userFilesCleanup } from './avatar/user-files.consumer.js';
import { resolveUserReference } from './user/user.reference.js';
import { UserResolver } from './user/user.resolver.js';
import { deleteExpiredOidcPayloads } from './oidc/adapter.js';
import { OAuthClient } from './oidc/client.entity.js';
import { OAuthClientResolver } from './oidc/client.resolver.js';
import { oidcRoutes } from './oidc/oidc.routes.js';
import { ExternalIdentity, ProviderSignIn } from './provider/provider.entity.js';
import { ProviderSignInResolver } from './provider/provider.resolver.js';
import { providerRoutes } from './provider/provider.routes.js';
import { invitationEmail, type InvitationMailData } from './organization/invitation-mail.js';
import { Organization, OrganizationInvitation, OrganizationMember } from './organization/organization.entity.js';
import { OrganizationMemberResolver, OrganizationResolver } from './organization/organization.resolver.js';

export default defineModule<typeof identityConfigSchema, IdentityServices>({
  manifest: new URL('../module.yaml', import.meta.url),
  config: identityConfigSchema,
  entities: [
    TotpCredential,
    RecoveryCode,
    User,
    Session,
    RefreshToken,
    EmailToken,
    Upload,
    ApiKey,
    OAuthClient,
    ExternalIdentity,
    ProviderSignIn,
    Organization,
    OrganizationMember,
    OrganizationInvitation,
  ],
  migrations,
  resolvers: [
    TotpResolver,
    UserResolver,
    AccountResolver,
    SessionResolver,
    SessionRevocationSubscriptionResolver,
    UploadResolver,
    ApiKeyResolver,
    OAuthClientResolver,
    ProviderSignInResolver,
    OrganizationResolver,
    OrganizationMemberResolver,
  ],
  orphanedTypes: [AuthPayload],
  // Profiles are public; `email` and `emailVerified` keep their own field rules.
  references: { User: { rule: publicAccess, resolve: resolveUserReference } },
  rules,
  services: createIdentityServices,
  mail: {
    templates: {
      ...identityMailTemplates,
      organizationInvitation: (data: InvitationMailData) => invitationEmail(data),
    },
  },
  consumers: [revocationFeedConsumer, userFilesCleanup],
  // Run by the schedules of module.yaml, once per deployment per tick.
  jobs: {
    'maintain-signing-keys': {
      attempts: 1,
      handler: (_payload, _runtime, services) => services.keys.maintain(),
    },
    'delete-expired-credentials': {
      attempts: 1,
      timeoutMs: 10 * 60_000,
      async handler(_payload, runtime, services, job) {
        const holdSec = revocationHoldMs(runtime.platform) / 1000;
        const retainSec = Math.max(runtime.config.credentialRetentionDays * 86_400, holdSec);
        const deleted = await deleteExpiredCredentials(runtime.em(), runtime.db.schema, retainSec);
        const uploads = await services.uploads.pruneExpired(runtime.em());
        const oidc = await deleteExpiredOidcPayloads(runtime.em(), runtime.db.schema);
        const providerSignIns = await services.providerSignIns.pruneExpired(runtime.em());
        job.logger.info({ ...deleted, uploads, oidc, providerSignIns }, 'expired credentials and uploads deleted');
      },
    },
  },
  // identity issues the platform's access tokens: the kernel serves its keys and revocations
  // (the access-token contract) and reads them in process here.
  contracts: {
    accessTokens: (runtime, services) => ({
      keys: () => services.keys.jwks(),
      revocations: async (since) => {
        const asOfMs = Date.now();
        const snapshot = await recentRevocations(runtime.em(), revocationHoldMs(runtime.platform), since);
        return { snapshot, asOfMs };
      },
    }),
  },
  routes(router, runtime, services, kernel) {
    signingKeyRoutes(router, runtime, services.keys);
    apiKeyRoutes(router, runtime, services.apiKeys);
    // Where external sign-in providers send users back (under /oidc: before the provider's routes).
    providerRoutes(router, runtime, services.providerSignIns);
    // The OpenID Connect provider; the gateway forwards its paths here (last: it answers its own 404s).
    oidcRoutes(router, runtime, services, kernel);
  },
  hooks: {
    async onStart(runtime) {
      if (runtime.platform.demoData) await seedDemoUsers(runtime);
    },
    // `platformctl seed`, and automatic in development: the first administrator.
    seed: seedAdmin,
  },
});
