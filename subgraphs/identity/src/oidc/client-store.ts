import type { AdapterPayload } from 'oidc-provider';
import type { EntityManager } from '@platform/kernel';
import { OAuthClient } from './client.entity.js';

/** Reads clients for the provider. */
export class OAuthClientStore {
  constructor(private readonly schema: string) {}

  find(em: EntityManager, clientId: string): Promise<OAuthClient | null> {
    return em.findOne(OAuthClient, { clientId }, { schema: this.schema });
  }
}

/**
 * A client as oidc-provider reads it. `client_secret` carries the stored SHA-256, never the
 * secret: the provider's secret comparison is replaced to hash what the client presents (see
 * provider.ts), and no client may use the secret as a key (no HS* or client_secret_jwt).
 */
export function clientMetadata(client: OAuthClient): AdapterPayload {
  const code = client.grantTypes.includes('authorization_code');
  return {
    client_id: client.clientId,
    client_name: client.name,
    ...(client.public ? { token_endpoint_auth_method: 'none' } : { client_secret: client.secretHash ?? undefined }),
    ...(client.public ? {} : { token_endpoint_auth_method: 'client_secret_basic' }),
    redirect_uris: code ? client.redirectUris : [],
    post_logout_redirect_uris: code ? client.redirectUris : [],
    grant_types: client.grantTypes,
    response_types: code ? ['code'] : [],
    scope: ['openid', ...client.scopes.filter((scope) => scope !== 'openid')].join(' '),
  };
}
