import { describe, expect, it } from '@jest/globals';
import { identityConfigSchema } from '../config.js';
import { signInProviderSchema } from './provider-config.js';
import { rolesFromClaims } from './provider-sign-in.service.js';

const base = { name: 'Acme', issuer: 'https://login.acme.example', clientId: 'platform' };

describe('sign-in provider config', () => {
  it('takes an https issuer, or http on a loopback host only', () => {
    expect(signInProviderSchema.safeParse(base).success).toBe(true);
    expect(signInProviderSchema.safeParse({ ...base, issuer: 'http://127.0.0.1:9000' }).success).toBe(true);
    const plain = signInProviderSchema.safeParse({ ...base, issuer: 'http://login.acme.example' });
    expect(plain.success).toBe(false);
    expect(plain.error?.issues[0]?.message).toMatch(/https/);
  });

  it('defaults to the usual scopes, creating and joining accounts', () => {
    expect(signInProviderSchema.parse(base)).toMatchObject({
      scopes: ['openid', 'email', 'profile'],
      createUsers: true,
      linkByEmail: true,
    });
  });

  it('refuses provider ids that cannot sit in a path, and return origins that are not origins', () => {
    const config = (extra: Record<string, unknown>) => identityConfigSchema.safeParse(extra);
    expect(config({ signInProviders: { acme: base } }).success).toBe(true);
    expect(config({ signInProviders: { 'Acme/../x': base } }).success).toBe(false);
    expect(config({ providerReturnOrigins: ['https://app.example'] }).success).toBe(true);
    expect(config({ providerReturnOrigins: ['https://app.example/path'] }).success).toBe(false);
  });
});

describe('rolesFromClaims', () => {
  const mapping = { claim: 'groups', map: { admins: ['admin'], staff: ['user', 'editor'] } };

  it('gives the roles each listed value maps to, once each, sorted', () => {
    expect(rolesFromClaims({ groups: ['staff', 'admins', 'other'] }, mapping)).toEqual(['admin', 'editor', 'user']);
    expect(rolesFromClaims({ groups: 'admins' }, mapping)).toEqual(['admin']);
  });

  it('reads a dotted path, and gives nothing for a missing or odd claim', () => {
    const nested = { claim: 'realm_access.roles', map: { admins: ['admin'] } };
    expect(rolesFromClaims({ realm_access: { roles: ['admins'] } }, nested)).toEqual(['admin']);
    expect(rolesFromClaims({}, nested)).toEqual([]);
    expect(rolesFromClaims({ groups: [1, { admins: true }] }, mapping)).toEqual([]);
    // Inherited names are not claims, nor map entries.
    expect(rolesFromClaims({ groups: ['constructor', 'toString'] }, mapping)).toEqual([]);
  });
});
