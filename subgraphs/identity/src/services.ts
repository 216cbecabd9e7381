import { join } from 'node:path';
import { emitter, type ModuleRuntime } from '@platform/kernel';
import { LoginThrottle } from './throttle/login-throttle.js';
import { AccountService } from './account/account.service.js';
import { ApiKeyService } from './apikey/api-key.service.js';
import type { IdentityConfig } from './config.js';
import type { IdentityEvents } from './events.js';
import { PasswordHasher } from './password/hasher.js';
import { keyEncryptionFromConfig } from './keys/key-encryption.js';
import { SigningKeys } from './keys/signing-keys.js';
import { SessionRevocationFeed } from './session/session-revocation.feed.js';
import { SessionService } from './session/session.service.js';
import { UserCache } from './user/user.cache.js';
import { UploadService } from './avatar/upload.service.js';
import { OAuthClientService } from './oidc/client.service.js';
import { TotpSecrets } from './totp/secret.js';
import { TotpService } from './totp/totp.service.js';
import { ProviderSignInService } from './provider/provider-sign-in.service.js';
import { ExternalProviders } from './provider/providers.js';
import { OrganizationService } from './organization/organization.service.js';
import { appLink } from './account/account-mail.js';

/** Everything identity's resolvers and routes use, built once the database is up. */
export interface IdentityServices {
  accounts: AccountService;
  sessions: SessionService;
  keys: SigningKeys;
  hasher: PasswordHasher;
  /** `mySessionRevoked`: revocations published to subscribers; fed by `revocationFeedConsumer` (module.ts). */
  revocationFeed: SessionRevocationFeed;
  /** Users looked up by other subgraphs (`_entities`), cached for `userCacheTtlSec`. */
  users: UserCache;
  /** Uploads and avatars (`createUpload`, `updateProfile(avatarUploadId:)`, `User.avatarUrl`). */
  uploads: UploadService;
  /** Two-factor sign-in (`enrollTotp`, `confirmTotp`, `disableTotp`, login's second factor). */
  totp: TotpService;
  /** API keys and service accounts (`createApiKey`, the gateway's key exchange). */
  apiKeys: ApiKeyService;
  /** Clients of the OpenID Connect provider (`createOAuthClient`, …; the provider itself: oidc/oidc.routes.ts). */
  oauthClients: OAuthClientService;
  /** Sign-in with external OpenID Connect providers (`signInWithProvider`, its callback, `completeProviderSignIn`). */
  providerSignIns: ProviderSignInService;
  /** Organizations, their members and invitations (`createOrganization`, `inviteMember`, …). */
  organizations: OrganizationService;
  close(): Promise<void>;
}

export async function createIdentityServices(runtime: ModuleRuntime<IdentityConfig>): Promise<IdentityServices> {
  const { config, platform, logger } = runtime;
  const emit = emitter<IdentityEvents>(runtime.events);
  const hasher = new PasswordHasher({ ...config.password, logger });
  const keys = await openSigningKeys(runtime);
  const throttle = new LoginThrottle({
    redis: runtime.redis,
    keyPrefix: `${platform.redis.keyPrefix}:identity:login`,
    perAccount: config.throttle.perAccount,
    perIp: config.throttle.perIp,
    refusalReportWindowSec: config.throttle.refusalReportWindowSec,
  });
  const totp = new TotpService({
    // Encrypted as the signing keys are, under the same key-encryption key (opened on first use).
    secrets: new TotpSecrets(async () => (await keyEncryptionFromConfig(config.keys, platform)).encryption),
    throttle,
    emit,
    productName: config.productName,
  });
  const organizations: OrganizationService = new OrganizationService({
    emit,
    // Called at requests only, once `sessions` below exists.
    revokeSessions: (tx, userId, organizationId, reason) =>
      sessions.revokeInOrganization(tx, userId, organizationId, reason),
    revokeApiKeys: (tx, userId, organizationId) => apiKeys.revokeInOrganization(tx, userId, organizationId),
    mail: runtime.mail,
    logger: logger.child({ component: 'organizations' }),
    limits: config.organizations,
    invitationLink: (token) => appLink(config.appUrl, 'accept-invitation', token),
    productName: config.productName,
  });
  const sessions: SessionService = new SessionService({
    hasher,
    keys,
    throttle,
    emit,
    secondFactor: totp,
    isMember: (em, organizationId, userId) => organizations.isMember(em, organizationId, userId),
    tokens: {
      issuer: platform.auth.issuer,
      audience: platform.auth.audience,
      accessTokenTtlSec: platform.auth.accessTokenTtlSec,
      refreshTokenTtlSec: config.refreshTokenTtlSec,
    },
  });
  const apiKeys = new ApiKeyService({
    keys,
    emit,
    tokens: {
      issuer: platform.auth.issuer,
      audience: platform.auth.audience,
      accessTokenTtlSec: platform.auth.accessTokenTtlSec,
    },
  });
  const accounts = new AccountService({
    apiKeys,
    hasher,
    mail: runtime.mail,
    sessions,
    emit,
    logger,
    settings: {
      appUrl: config.appUrl,
      productName: config.productName,
      verificationTtlHours: config.verificationTtlHours,
      resetTtlMinutes: config.resetTtlMinutes,
    },
  });
  // Every instance re-reads the shared keys (what others created, rotated, removed); rotating and
  // pruning when due is the `signing-keys` schedule's job, once per deployment (module.yaml).
  const maintenance = setInterval(() => {
    keys.refresh().catch((error: unknown) => logger.error({ err: error }, 'signing key refresh failed'));
  }, config.keys.refreshIntervalSec * 1000);
  maintenance.unref();
  const revocationFeed = new SessionRevocationFeed(runtime as ModuleRuntime);
  const users = await UserCache.attach(runtime as ModuleRuntime, config.userCacheTtlSec);
  return {
    accounts,
    sessions,
    keys,
    hasher,
    revocationFeed,
    organizations,
    users,
    totp,
    uploads: new UploadService({ files: runtime.files, emit, logger, avatarMaxBytes: config.avatars.maxBytes }),
    oauthClients: new OAuthClientService({
      emit,
      sessions,
      db: { fork: () => runtime.em(), schema: runtime.db.schema },
    }),
    apiKeys,
    providerSignIns: new ProviderSignInService({
      providers: new ExternalProviders(config.signInProviders, platform.auth.issuer, logger),
      sessions,
      apiKeys,
      emit,
      logger: logger.child({ component: 'sign-in-providers' }),
      returnOrigins: new Set([
        new URL(config.appUrl).origin,
        ...config.providerReturnOrigins.map((o) => new URL(o).origin),
      ]),
    }),
    async close() {
      clearInterval(maintenance);
    },
  };
}

/**
 * Configured keys (`keys.signing`) as they are; otherwise the keys in identity's database, under
 * the key-encryption key (generated under DATA_DIR outside production), with key files of
 * earlier versions imported once.
 */
async function openSigningKeys(runtime: ModuleRuntime<IdentityConfig>): Promise<SigningKeys> {
  const { config, platform, logger } = runtime;
  const common = {
    rotateAfterDays: config.keys.rotateAfterDays,
    publishLeadSec: config.keys.publishLeadSec,
    retainAfterRotationSec: signingKeyRetentionSec(platform.auth.accessTokenTtlSec, config.keys.refreshIntervalSec),
    logger,
  };
  if (config.keys.signing) return SigningKeys.open({ ...common, configured: config.keys.signing });
  const { encryption, generatedFile } = await keyEncryptionFromConfig(config.keys, platform);
  if (generatedFile) {
    logger.info(
      { file: generatedFile },
      'signing keys encrypted with the key-encryption key generated outside production',
    );
  }
  return SigningKeys.open({
    ...common,
    db: runtime.db,
    encryption,
    importDir: join(platform.dataDir, 'identity', 'keys'),
  });
}

/**
 * How long a retired key stays published: a token it signed lives `accessTokenTtlSec`; an
 * instance may go on signing with it until its next refresh after the successor activated; and
 * 60 s cover clocks that disagree (verifiers allow 5 s on `exp`).
 */
export function signingKeyRetentionSec(accessTokenTtlSec: number, refreshIntervalSec: number): number {
  return accessTokenTtlSec + refreshIntervalSec + 60;
}
