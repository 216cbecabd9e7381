import { describe, expect, it } from '@jest/globals';
import { InputError } from '@platform/kernel';
import { validated } from './client.service.js';
import { clientMetadata } from './client-store.js';
import type { OAuthClient } from './client.entity.js';
import { consentPage, errorPage, signInPage } from './pages.js';
import { fill, stringsFor } from './strings.js';

const base = {
  name: 'App',
  redirectUris: ['https://app.example/callback'],
  grantTypes: ['authorization_code', 'refresh_token'],
  scopes: ['email', 'offline_access'],
  public: false,
};

describe('OAuth client fields', () => {
  it('accepts https redirect URIs, and http only on loopback', () => {
    expect(validated(base).redirectUris).toEqual(['https://app.example/callback']);
    for (const uri of ['http://localhost:3000/cb', 'http://127.0.0.1:9/cb', 'http://[::1]/cb']) {
      expect(validated({ ...base, redirectUris: [uri] }).redirectUris).toEqual([uri]);
    }
  });

  it.each([
    ['http on another host', { redirectUris: ['http://app.example/cb'] }, 'redirectUris'],
    ['a fragment', { redirectUris: ['https://app.example/cb#x'] }, 'redirectUris'],
    ['credentials in the URI', { redirectUris: ['https://user:pw@app.example/cb'] }, 'redirectUris'],
    ['not a URL', { redirectUris: ['callback'] }, 'redirectUris'],
    ['no redirect URI for the code flow', { redirectUris: [] }, 'redirectUris'],
    ['an unknown grant type', { grantTypes: ['implicit'] }, 'grantTypes'],
    ['no grant type', { grantTypes: [] }, 'grantTypes'],
    ['refresh without the code flow', { grantTypes: ['refresh_token'] }, 'grantTypes'],
    ['client_credentials for a public client', { public: true, grantTypes: ['client_credentials'] }, 'grantTypes'],
    ['an unknown scope', { scopes: ['admin'] }, 'scopes'],
    ['an empty name', { name: '  ' }, 'name'],
  ])('refuses %s', (_what, change, field) => {
    let error: unknown;
    try {
      validated({ ...base, ...change });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).fields).toEqual([expect.objectContaining({ field })]);
  });

  it('keeps openid implicit and drops duplicates', () => {
    const fields = validated({ ...base, scopes: ['openid', 'email', 'email'], grantTypes: ['authorization_code'] });
    expect(fields.scopes).toEqual(['email']);
  });
});

describe('client metadata for the provider', () => {
  const client = {
    clientId: 'abc',
    name: 'App',
    secretHash: 'f'.repeat(64),
    public: false,
    redirectUris: ['https://app.example/callback'],
    grantTypes: ['authorization_code', 'refresh_token'],
    scopes: ['email'],
  } as OAuthClient;

  it('gives a confidential client its stored hash and basic authentication', () => {
    expect(clientMetadata(client)).toMatchObject({
      client_id: 'abc',
      client_secret: 'f'.repeat(64),
      token_endpoint_auth_method: 'client_secret_basic',
      response_types: ['code'],
      scope: 'openid email',
    });
  });

  it('gives a public client no secret and no client authentication', () => {
    const metadata = clientMetadata({ ...client, public: true, secretHash: null } as OAuthClient);
    expect(metadata.client_secret).toBeUndefined();
    expect(metadata.token_endpoint_auth_method).toBe('none');
  });

  it('gives a client_credentials-only client no redirect URIs or response types', () => {
    const metadata = clientMetadata({ ...client, grantTypes: ['client_credentials'] } as OAuthClient);
    expect(metadata).toMatchObject({ redirect_uris: [], response_types: [] });
  });
});

describe('provider pages', () => {
  const hostile = '<script>alert(1)</script>"';

  it('escape what clients and users supplied', () => {
    const html = signInPage(
      {
        action: '/oidc/interaction/x/login',
        abortAction: '/oidc/interaction/x/abort',
        csrf: 'token"><b>',
        clientName: hostile,
        scopes: ['openid', 'email'],
        email: hostile,
        error: hostile,
      },
      'en',
    );
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('token"><b>');
    expect(html).toContain('&lt;script&gt;');
    expect(
      consentPage({ action: 'a', abortAction: 'b', csrf: 'c', clientName: hostile, scopes: [] }, 'en'),
    ).not.toContain('<script>');
    expect(errorPage({ error: hostile, error_description: hostile })).not.toContain('<script>');
  });

  it('label every input and announce errors', () => {
    const html = signInPage(
      { action: 'a', abortAction: 'b', csrf: 'c', clientName: 'App', scopes: ['email'], error: 'Wrong' },
      undefined,
    );
    for (const id of ['email', 'password', 'totp']) {
      expect(html).toContain(`<label for="${id}">`);
      expect(html).toContain(`id="${id}"`);
    }
    expect(html).toContain('<p role="alert">Wrong</p>');
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Your email address');
    // Whatever the scopes, the client's access token acts as the user: the page says so.
    expect(html).toContain('To act as you in the API, with your permissions');
  });

  it('fall back to English for languages without strings', () => {
    expect(stringsFor('xx-YY, zz;q=0.5').lang).toBe('en');
    expect(stringsFor('en-GB').lang).toBe('en');
    expect(fill('{client} wants {x}', { client: 'App' })).toBe('App wants {x}');
  });
});
