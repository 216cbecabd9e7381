import { randomUUID } from 'node:crypto';
import { describe, expect, it, jest } from '@jest/globals';
import { decodeJwt, generateKeyPair, jwtVerify } from 'jose';
import { AuthenticationError, type EntityManager } from '@platform/kernel';
import { newApiKey } from '@platform/kernel/contracts';
import { hashSecret } from '../tokens.js';
import { ApiKey } from './api-key.entity.js';
import { API_KEY_TOKEN_MAX_TTL_SEC, ApiKeyService, LAST_USED_INTERVAL_MS } from './api-key.service.js';

const keyPair = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
const tokens = { issuer: 'http://identity.test', audience: 'platform', accessTokenTtlSec: 900 };

function service(): ApiKeyService {
  return new ApiKeyService({
    keys: { current: () => ({ kid: 'k1', privateKey: keyPair.privateKey }) },
    emit: async () => undefined,
    tokens,
  });
}

/** An entity manager holding one key and its owner: what `exchange` looked up and wrote. */
function storeWith(apiKey: ApiKey | null) {
  const findOne = jest.fn(async (entity: unknown, where: Record<string, unknown>) => {
    if (entity === ApiKey) return apiKey && where.secretHash === apiKey.secretHash ? apiKey : null;
    return { id: where.id };
  });
  const nativeUpdate = jest.fn(async () => 1);
  return { em: { findOne, nativeUpdate } as unknown as EntityManager, findOne, nativeUpdate };
}

function row(key: string, overrides: Partial<ApiKey> = {}): ApiKey {
  return Object.assign(new ApiKey(), {
    ownerId: randomUUID(),
    createdBy: randomUUID(),
    name: 'ci',
    prefix: key.slice(0, 12),
    secretHash: hashSecret(key),
    permissions: ['blog.post.create'],
    ...overrides,
  });
}

describe('ApiKeyService.exchange', () => {
  it('refuses a malformed key before any lookup', async () => {
    const { em, findOne } = storeWith(null);
    const key = newApiKey();
    for (const bad of [`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`, 'plk_nope', '']) {
      await expect(service().exchange(em, bad, '127.0.0.1')).rejects.toBeInstanceOf(AuthenticationError);
    }
    expect(findOne).not.toHaveBeenCalled();
  });

  it("signs a token for the owner, the key as its session, restricted to the key's permissions", async () => {
    const key = newApiKey();
    const apiKey = row(key, { expiresAt: new Date(Date.now() + 60_000) });
    const { em } = storeWith(apiKey);
    const exchanged = await service().exchange(em, key, '127.0.0.1');
    const { payload } = await jwtVerify(exchanged.accessToken, keyPair.publicKey, {
      issuer: tokens.issuer,
      audience: tokens.audience,
    });
    expect(payload).toMatchObject({ sub: apiKey.ownerId, sid: apiKey.id, akid: apiKey.id, perm: ['blog.post.create'] });
    // Never past the key's own expiry.
    expect(payload.exp! * 1000).toBeLessThanOrEqual(apiKey.expiresAt!.getTime());
    expect(exchanged).toMatchObject({ keyId: apiKey.id, userId: apiKey.ownerId, expiresAt: payload.exp! * 1000 });
  });

  it('lives at most API_KEY_TOKEN_MAX_TTL_SEC without an expiry', async () => {
    const key = newApiKey();
    const { em } = storeWith(row(key));
    const { accessToken } = await service().exchange(em, key, undefined);
    const { iat, exp } = decodeJwt(accessToken);
    expect(exp! - iat!).toBe(API_KEY_TOKEN_MAX_TTL_SEC);
  });

  it('refuses revoked and expired keys', async () => {
    for (const overrides of [{ revokedAt: new Date() }, { expiresAt: new Date(Date.now() - 1000) }]) {
      const key = newApiKey();
      const { em } = storeWith(row(key, overrides));
      await expect(service().exchange(em, key, '127.0.0.1')).rejects.toBeInstanceOf(AuthenticationError);
    }
  });

  it('records the last use at most once a minute', async () => {
    const key = newApiKey();
    const recent = storeWith(row(key, { lastUsedAt: new Date(Date.now() - 5_000) }));
    await service().exchange(recent.em, key, '127.0.0.1');
    expect(recent.nativeUpdate).not.toHaveBeenCalled();

    const stale = storeWith(row(key, { lastUsedAt: new Date(Date.now() - LAST_USED_INTERVAL_MS - 1) }));
    await service().exchange(stale.em, key, '10.0.0.7');
    expect(stale.nativeUpdate).toHaveBeenCalledTimes(1);
    expect(stale.nativeUpdate.mock.calls[0]).toEqual([
      ApiKey,
      expect.anything(),
      expect.objectContaining({ lastUsedIp: '10.0.0.7' }),
    ]);
  });
});
