import type { Emit, EntityManager } from '@platform/kernel';
import { ApiKey } from '../apikey/api-key.entity.js';
import type { ApiKeyService } from '../apikey/api-key.service.js';
import type { IdentityEvents } from '../events.js';
import { ExternalIdentity } from '../provider/provider.entity.js';
import type { RevocationReason, SessionService } from '../session/session.service.js';
import { RecoveryCode, TotpCredential } from '../totp/totp.entity.js';

export interface TakeOverDeps {
  sessions: SessionService;
  apiKeys: ApiKeyService;
  emit: Emit<IdentityEvents>;
}

/**
 * Ends every credential of an account: when someone else takes it over (`platformctl seed
 * --adopt-existing`, a provider's user joining an unverified account) or it is deleted. Its
 * sessions, its second factor and recovery codes, its API keys, its links to providers. The
 * password is the caller's to replace or clear. Inside the caller's transaction; each step
 * records its event.
 */
export async function endCredentials(
  tx: EntityManager,
  userId: string,
  deps: TakeOverDeps,
  reason: Extract<RevocationReason, 'seed_adopted' | 'provider_adopted' | 'user_deleted'>,
): Promise<void> {
  await deps.sessions.revokeAllIn(tx, userId, reason);
  await tx.nativeDelete(RecoveryCode, { userId });
  if ((await tx.nativeDelete(TotpCredential, { userId, confirmedAt: { $ne: null } })) > 0) {
    await deps.emit(tx, 'identity.totp.disabled', { userId });
  }
  await tx.nativeDelete(TotpCredential, { userId });
  for (const key of await tx.find(ApiKey, { ownerId: userId, revokedAt: null })) {
    await deps.apiKeys.revoke(tx, key, reason);
  }
  await tx.nativeDelete(ExternalIdentity, { userId });
}
