import { join } from 'node:path';
import { LoginThrottle, type ModuleRuntime } from '@platform/kernel';
import { AccountService } from './account/account.service.js';
import type { IdentityConfig } from './config.js';
import type { Emit } from './events.js';
import { createMailer, type Mailer } from './mail/mailer.js';
import { PasswordHasher } from './password/hasher.js';
import { SigningKeys } from './keys/signing-keys.js';
import { SessionRevocationFeed } from './session/session-revocation.feed.js';
import { SessionService } from './session/session.service.js';

/** Everything identity's resolvers and routes use, built once the database is up. */
export interface IdentityServices {
  accounts: AccountService;
  sessions: SessionService;
  keys: SigningKeys;
  mailer: Mailer;
  hasher: PasswordHasher;
  /** `mySessionRevoked`: revocations published to subscribers; fed from `onStart` on. */
  revocationFeed: SessionRevocationFeed;
  close(): Promise<void>;
}

export async function createIdentityServices(runtime: ModuleRuntime<IdentityConfig>): Promise<IdentityServices> {
  const { config, platform, logger } = runtime;
  const emit: Emit = (em, topic, payload, meta) => runtime.events.record(em, topic, payload, meta);
  const hasher = new PasswordHasher({ ...config.password, logger });
  const keys = await SigningKeys.open({
    dir: config.keys.signing ? null : join(platform.dataDir, 'identity', 'keys'),
    configured: config.keys.signing,
    rotateAfterDays: config.keys.rotateAfterDays,
    // A retired key stays published as long as a token it signed can live.
    retainAfterRotationSec: platform.auth.accessTokenTtlSec,
    logger,
  });
  const mailer = createMailer({
    smtpUrl: platform.smtp.url,
    from: platform.smtp.from,
    outboxDir: join(platform.dataDir, 'mail'),
    logger,
  });
  const throttle = new LoginThrottle({
    redis: runtime.redis,
    keyPrefix: `${platform.redis.keyPrefix}:identity:login`,
    perAccount: config.throttle.perAccount,
    perIp: config.throttle.perIp,
    refusalReportWindowSec: config.throttle.refusalReportWindowSec,
  });
  const sessions = new SessionService({
    hasher,
    keys,
    throttle,
    emit,
    tokens: {
      issuer: platform.auth.issuer,
      audience: platform.auth.audience,
      accessTokenTtlSec: platform.auth.accessTokenTtlSec,
      refreshTokenTtlSec: config.refreshTokenTtlSec,
    },
  });
  const accounts = new AccountService({
    hasher,
    mailer,
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
  // Rotation is checked at start and then hourly, so a long-running service rotates on time.
  const rotation = setInterval(() => {
    keys.rotateIfDue().catch((error: unknown) => logger.error({ err: error }, 'signing key rotation failed'));
  }, 3_600_000);
  rotation.unref();
  const revocationFeed = new SessionRevocationFeed(runtime as ModuleRuntime);
  return {
    accounts,
    sessions,
    keys,
    mailer,
    hasher,
    revocationFeed,
    async close() {
      clearInterval(rotation);
      await revocationFeed.stop();
      await mailer.close();
    },
  };
}
