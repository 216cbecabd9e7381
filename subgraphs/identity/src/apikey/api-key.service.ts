import { OrganizationMember } from '../organization/organization.entity.js';
import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey } from 'jose';
import { AuthenticationError, InputError, NotFoundError, type EntityManager, type Emit } from '@platform/kernel';
import { displayPrefix, isWellFormedApiKey, newApiKey } from '@platform/kernel/contracts';
import type { IdentityEvents } from '../events.js';
import { SIGNING_ALG } from '../keys/key-material.js';
import { hashSecret } from '../tokens.js';
import { User } from '../user/user.entity.js';
import { ApiKey } from './api-key.entity.js';

/** One message for every refused key, so a caller learns nothing about why. */
export const INVALID_API_KEY = 'Invalid API key';
/** `lastUsedAt`/`lastUsedIp` are written at most this often per key: a use is not a write. */
export const LAST_USED_INTERVAL_MS = 60_000;
/** Longest an exchanged token lives; revocations are honoured sooner (see docs/identity.md). */
export const API_KEY_TOKEN_MAX_TTL_SEC = 300;
/** Every permission travels in each of the key's tokens: a key needing more is a role's job. */
export const MAX_API_KEY_PERMISSIONS = 100;
const PERMISSION = /^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*$/;

export interface ApiKeyServiceOptions {
  keys: { current(): { kid: string; privateKey: CryptoKey } };
  emit: Emit<IdentityEvents>;
  tokens: { issuer: string; audience: string; accessTokenTtlSec: number };
}

export interface NewApiKey {
  name: string;
  permissions: string[];
  expiresAt?: Date | null;
  ownerId: string;
  createdBy: string;
  /** The organization the key acts in (its owner's active one at creation); null: none. */
  organizationId?: string | null;
}

/** What the gateway (or any service) gets for a valid key: a token that acts as the key. */
export interface ExchangedApiKey {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
  keyId: string;
  userId: string;
}

/**
 * API keys and service accounts. Who may do what (the subset rule, others' keys) is the
 * resolver's to decide with the caller's permissions; this stores, revokes and exchanges keys.
 */
export class ApiKeyService {
  constructor(private readonly deps: ApiKeyServiceOptions) {}

  /** Stores a new key for `ownerId`; returns the row and the key itself, which is never stored. */
  async create(em: EntityManager, input: NewApiKey): Promise<{ apiKey: ApiKey; key: string }> {
    const name = input.name.trim();
    if (name.length < 1 || name.length > 100) throw InputError.field('name', 'must be 1 to 100 characters');
    const permissions = [...new Set(input.permissions)].sort();
    if (permissions.length > MAX_API_KEY_PERMISSIONS) {
      throw InputError.field('permissions', `at most ${MAX_API_KEY_PERMISSIONS}`);
    }
    const malformed = permissions.filter((permission) => !PERMISSION.test(permission));
    if (malformed.length > 0) {
      throw InputError.field('permissions', `not permission names: ${malformed.slice(0, 5).join(', ')}`);
    }
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw InputError.field('expiresAt', 'must be in the future');
    }
    const owner = await em.findOne(User, { id: input.ownerId, deletedAt: null });
    if (!owner) throw new NotFoundError('User', input.ownerId);
    const key = newApiKey();
    return em.transactional(async (tx) => {
      const apiKey = tx.create(ApiKey, {
        ownerId: owner.id,
        createdBy: input.createdBy,
        name,
        prefix: displayPrefix(key),
        secretHash: hashSecret(key),
        permissions,
        expiresAt: input.expiresAt ?? null,
        organizationId: input.organizationId ?? null,
      });
      await tx.flush();
      await this.deps.emit(tx, 'identity.apikey.created', {
        keyId: apiKey.id,
        ownerId: owner.id,
        name,
        permissions,
        expiresAt: apiKey.expiresAt?.toISOString() ?? null,
        ...(apiKey.organizationId ? { organizationId: apiKey.organizationId } : {}),
      });
      return { apiKey, key };
    });
  }

  /** Keys of `ownerId`, or everyone's without one; newest first. */
  list(em: EntityManager, ownerId: string | undefined, includeRevoked: boolean): Promise<ApiKey[]> {
    return em.find(
      ApiKey,
      { ...(ownerId ? { ownerId } : {}), ...(includeRevoked ? {} : { revokedAt: null }) },
      { orderBy: { createdAt: 'desc', id: 'asc' }, limit: 1000 },
    );
  }

  findById(em: EntityManager, id: string): Promise<ApiKey | null> {
    return em.findOne(ApiKey, { id });
  }

  /**
   * Revokes a key: its exchanges stop at once, and its tokens already out are refused as soon as
   * the services hear `identity.session.revoked` (the key's id is its tokens' `sid`), within
   * `auth.revocationBoundSec` when the event is lost.
   */
  async revoke(em: EntityManager, apiKey: ApiKey, reason: string): Promise<ApiKey> {
    if (apiKey.revokedAt) return apiKey;
    return em.transactional(async (tx) => {
      const revokedAt = new Date();
      const updated = await tx.nativeUpdate(ApiKey, { id: apiKey.id, revokedAt: null }, { revokedAt });
      if (updated === 0) return (await tx.findOne(ApiKey, { id: apiKey.id }, { refresh: true }))!;
      apiKey.revokedAt = revokedAt;
      await this.deps.emit(tx, 'identity.apikey.revoked', { keyId: apiKey.id, ownerId: apiKey.ownerId, reason });
      await this.deps.emit(tx, 'identity.session.revoked', {
        userId: apiKey.ownerId,
        sessionId: apiKey.id,
        reason: 'api_key_revoked',
      });
      return apiKey;
    });
  }

  /** Revokes `userId`'s keys acting in `organizationId` (they left it), inside the caller's transaction. */
  async revokeInOrganization(tx: EntityManager, userId: string, organizationId: string): Promise<string[]> {
    const keys = await tx.find(ApiKey, { ownerId: userId, organizationId, revokedAt: null });
    for (const key of keys) await this.revoke(tx, key, 'organization_left');
    return keys.map((key) => key.id);
  }

  /**
   * Trades a key for an access token that acts as it: `sub` its owner, `sid` the key (so revoking
   * the key revokes the token like a session), `akid` the key and `perm` its permissions, which
   * every service intersects with the owner's current ones. Malformed keys (shape or checksum)
   * are refused before any lookup; every refusal is the same AuthenticationError.
   */
  async exchange(em: EntityManager, key: string, ip: string | undefined): Promise<ExchangedApiKey> {
    if (typeof key !== 'string' || !isWellFormedApiKey(key)) throw new AuthenticationError(INVALID_API_KEY);
    const apiKey = await em.findOne(ApiKey, { secretHash: hashSecret(key) });
    const now = Date.now();
    if (!apiKey || apiKey.revokedAt || (apiKey.expiresAt && apiKey.expiresAt.getTime() <= now)) {
      throw new AuthenticationError(INVALID_API_KEY);
    }
    const owner = await em.findOne(User, { id: apiKey.ownerId, deletedAt: null }, { fields: ['id'] });
    if (!owner) throw new AuthenticationError(INVALID_API_KEY);
    // A key of an organization acts in it while its owner belongs to it (leaving revokes it too).
    if (
      apiKey.organizationId &&
      (await em.count(OrganizationMember, { organizationId: apiKey.organizationId, userId: apiKey.ownerId })) === 0
    ) {
      throw new AuthenticationError(INVALID_API_KEY);
    }
    if (!apiKey.lastUsedAt || now - apiKey.lastUsedAt.getTime() >= LAST_USED_INTERVAL_MS) {
      // Conditional, so concurrent exchanges on several instances write once.
      await em.nativeUpdate(
        ApiKey,
        { id: apiKey.id, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: new Date(now - LAST_USED_INTERVAL_MS) } }] },
        { lastUsedAt: new Date(now), lastUsedIp: ip?.slice(0, 64) ?? null },
      );
    }
    const ttlSec = Math.min(this.deps.tokens.accessTokenTtlSec, API_KEY_TOKEN_MAX_TTL_SEC);
    const issuedAt = Math.floor(now / 1000);
    let expiresAtSec = issuedAt + ttlSec;
    if (apiKey.expiresAt) expiresAtSec = Math.min(expiresAtSec, Math.floor(apiKey.expiresAt.getTime() / 1000));
    if (expiresAtSec <= issuedAt) throw new AuthenticationError(INVALID_API_KEY);
    const { kid, privateKey } = this.deps.keys.current();
    const accessToken = await new SignJWT({
      sid: apiKey.id,
      akid: apiKey.id,
      perm: apiKey.permissions,
      ...(apiKey.organizationId ? { org: apiKey.organizationId } : {}),
    })
      .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'JWT' })
      .setSubject(apiKey.ownerId)
      .setIssuer(this.deps.tokens.issuer)
      .setAudience(this.deps.tokens.audience)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAtSec)
      .setJti(randomUUID())
      .sign(privateKey);
    return { accessToken, expiresAt: expiresAtSec * 1000, keyId: apiKey.id, userId: apiKey.ownerId };
  }

  /** A service account: no password (login refuses it), an address that can receive nothing. */
  async createServiceAccount(em: EntityManager, name: string): Promise<User> {
    const displayName = name.trim();
    if (displayName.length < 1 || displayName.length > 100) {
      throw InputError.field('name', 'must be 1 to 100 characters');
    }
    return em.transactional(async (tx) => {
      const id = randomUUID();
      // `.invalid` (RFC 2606) can never be delivered to, so no reset link reaches anyone.
      const email = `service-account-${id}@service-accounts.invalid`;
      const user = tx.create(User, {
        id,
        email,
        displayName,
        emailVerified: false,
        passwordHash: null,
        serviceAccount: true,
      });
      await tx.flush();
      await this.deps.emit(tx, 'identity.user.created', { userId: id, email, displayName, via: 'service_account' });
      await this.deps.emit(tx, 'identity.serviceaccount.created', { userId: id, name: displayName });
      return user;
    });
  }
}
