import { randomBytes } from 'node:crypto';
import { InputError, isUuid, NotFoundError, type Emit, type EntityManager } from '@platform/kernel';
import type { SessionService } from '../session/session.service.js';
import { User } from '../user/user.entity.js';
import type { AdapterDatabase } from './adapter.js';
import { ClientActors } from './client-actors.js';
import type { IdentityEvents } from '../events.js';
import { hashSecret, newSecret } from '../tokens.js';
import { OAUTH_GRANT_TYPES, OAuthClient, type OAuthGrantType } from './client.entity.js';
import { OIDC_SCOPES } from './provider.js';

export interface OAuthClientFields {
  name: string;
  redirectUris: string[];
  grantTypes: string[];
  scopes: string[];
  public: boolean;
  serviceAccountId?: string | null;
}

const MAX_REDIRECT_URIS = 20;

/** Clients of the OpenID Connect provider: made, changed and deleted through GraphQL, each change an event. */
export class OAuthClientService {
  private readonly emit: Emit<IdentityEvents>;
  readonly actors: ClientActors;

  constructor(deps: { emit: Emit<IdentityEvents>; sessions: SessionService; db: AdapterDatabase }) {
    this.emit = deps.emit;
    this.actors = new ClientActors(deps.db, deps.sessions);
  }

  list(em: EntityManager): Promise<OAuthClient[]> {
    return em.find(OAuthClient, {}, { orderBy: { createdAt: 'desc', clientId: 'asc' }, limit: 1000 });
  }

  async create(
    em: EntityManager,
    input: OAuthClientFields,
    actorId: string,
  ): Promise<{ client: OAuthClient; secret: string | null }> {
    const fields = validated(input);
    const serviceAccountId = await this.serviceAccount(em, input, fields.grantTypes);
    const secret = input.public ? null : newSecret();
    const client = em.create(OAuthClient, {
      clientId: randomBytes(16).toString('base64url'),
      ...fields,
      public: input.public,
      secretHash: secret ? hashSecret(secret) : null,
      serviceAccountId,
      createdBy: actorId,
    });
    await em.transactional(async (tx) => {
      tx.persist(client);
      await tx.flush();
      await this.emit(
        tx,
        'identity.client.created',
        { clientId: client.clientId, name: client.name, public: client.public, grantTypes: client.grantTypes },
        { actorId },
      );
    });
    return { client, secret };
  }

  async update(
    em: EntityManager,
    clientId: string,
    changes: Partial<Omit<OAuthClientFields, 'public'>>,
    actorId: string,
  ): Promise<OAuthClient> {
    const client = await this.find(em, clientId);
    const fields = validated({
      name: changes.name ?? client.name,
      redirectUris: changes.redirectUris ?? client.redirectUris,
      grantTypes: changes.grantTypes ?? client.grantTypes,
      scopes: changes.scopes ?? client.scopes,
      public: client.public,
    });
    const changed = (Object.keys(fields) as Array<keyof typeof fields>).filter(
      (key) => JSON.stringify(fields[key]) !== JSON.stringify(client[key]),
    );
    if (!changed.length) return client;
    Object.assign(client, fields, { updatedAt: new Date() });
    await em.transactional(async (tx) => {
      tx.persist(client);
      await tx.flush();
      await this.emit(tx, 'identity.client.updated', { clientId, changed }, { actorId });
    });
    return client;
  }

  /** A new secret; the old one stops working at once. */
  async rotateSecret(em: EntityManager, clientId: string, actorId: string): Promise<string> {
    const client = await this.find(em, clientId);
    if (client.public) throw new InputError('A public client has no secret');
    const secret = newSecret();
    client.secretHash = hashSecret(secret);
    client.updatedAt = new Date();
    await em.transactional(async (tx) => {
      tx.persist(client);
      await tx.flush();
      await this.emit(tx, 'identity.client.secret_rotated', { clientId }, { actorId });
    });
    await this.actors.end(clientId);
    return secret;
  }

  /** Deletes the client; its tokens stop being refreshed (the provider no longer finds the client). */
  async delete(em: EntityManager, clientId: string, actorId: string): Promise<boolean> {
    const client = await this.find(em, clientId);
    await em.transactional(async (tx) => {
      await tx.nativeDelete(OAuthClient, { clientId: client.clientId });
      await this.emit(tx, 'identity.client.deleted', { clientId }, { actorId });
    });
    await this.actors.end(clientId);
    return true;
  }

  /** The service account a client_credentials client acts as, checked: a live service account. */
  private async serviceAccount(
    em: EntityManager,
    input: OAuthClientFields,
    grantTypes: OAuthGrantType[],
  ): Promise<string | null> {
    if (!input.serviceAccountId) return null;
    if (!grantTypes.includes('client_credentials')) {
      throw InputError.field('serviceAccountId', 'a service account acts only through client_credentials');
    }
    const id = isUuid(input.serviceAccountId) ? input.serviceAccountId.toLowerCase() : null;
    const account = id ? await em.findOne(User, { id, deletedAt: null }) : null;
    if (!account?.serviceAccount) throw new NotFoundError('Service account', input.serviceAccountId);
    return account.id;
  }

  private async find(em: EntityManager, clientId: string): Promise<OAuthClient> {
    const client = await em.findOne(OAuthClient, { clientId });
    if (!client) throw new NotFoundError('OAuthClient', clientId);
    return client;
  }
}

/** The fields as stored, or an InputError naming what is wrong (exported for its unit test). */
export function validated(
  input: OAuthClientFields,
): Omit<OAuthClientFields, 'public' | 'grantTypes'> & { grantTypes: OAuthGrantType[] } {
  const name = input.name.trim();
  if (!name || name.length > 200) throw InputError.field('name', 'name must have 1 to 200 characters');
  const grantTypes = [...new Set(input.grantTypes)];
  const unknown = grantTypes.filter((type) => !OAUTH_GRANT_TYPES.includes(type as OAuthGrantType));
  if (!grantTypes.length || unknown.length) {
    throw InputError.field('grantTypes', `grantTypes must be some of ${OAUTH_GRANT_TYPES.join(', ')}`);
  }
  if (input.public && grantTypes.includes('client_credentials')) {
    throw InputError.field('grantTypes', 'a public client cannot use client_credentials');
  }
  if (grantTypes.includes('refresh_token') && !grantTypes.includes('authorization_code')) {
    throw InputError.field('grantTypes', 'refresh_token needs authorization_code');
  }
  const scopes = [...new Set(input.scopes)].filter((scope) => scope !== 'openid');
  const unknownScopes = scopes.filter((scope) => !(OIDC_SCOPES as readonly string[]).includes(scope));
  if (unknownScopes.length) {
    throw InputError.field('scopes', `unknown scopes: ${unknownScopes.join(', ')}`);
  }
  const redirectUris = [...new Set(input.redirectUris)];
  if (grantTypes.includes('authorization_code') && !redirectUris.length) {
    throw InputError.field('redirectUris', 'authorization_code needs at least one redirect URI');
  }
  if (redirectUris.length > MAX_REDIRECT_URIS) {
    throw InputError.field('redirectUris', `at most ${MAX_REDIRECT_URIS} redirect URIs`);
  }
  for (const uri of redirectUris) {
    if (!redirectUriAllowed(uri)) {
      throw InputError.field(
        'redirectUris',
        `redirect URI must be https (or http on localhost), without a fragment: ${uri}`,
      );
    }
  }
  return { name, redirectUris, grantTypes: grantTypes as OAuthGrantType[], scopes };
}

function redirectUriAllowed(uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  if (url.hash || url.username || url.password) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}
