import { JWKS_PATH } from '@platform/kernel/contracts';

/** Where the provider's own routes live, on identity and on the gateway's origin. */
export const OIDC_PREFIX = '/oidc';

/** Discovery, at the issuer's well-known location (the issuer is the gateway's origin). */
export const DISCOVERY_PATH = '/.well-known/openid-configuration';

/**
 * The provider's routes. `jwks_uri` is the platform's own JWKS (every published key, the next
 * and the retired ones too), served by the kernel before the provider sees the request.
 */
export const OIDC_ROUTES = {
  authorization: `${OIDC_PREFIX}/auth`,
  token: `${OIDC_PREFIX}/token`,
  userinfo: `${OIDC_PREFIX}/me`,
  jwks: JWKS_PATH,
  revocation: `${OIDC_PREFIX}/token/revocation`,
  introspection: `${OIDC_PREFIX}/token/introspection`,
  end_session: `${OIDC_PREFIX}/session/end`,
  pushed_authorization_request: `${OIDC_PREFIX}/request`,
  code_verification: `${OIDC_PREFIX}/device`,
  device_authorization: `${OIDC_PREFIX}/device/auth`,
  backchannel_authentication: `${OIDC_PREFIX}/backchannel`,
  registration: `${OIDC_PREFIX}/reg`,
  challenge: `${OIDC_PREFIX}/challenge`,
};

/** Whether identity hands a request to the provider. */
export function isProviderPath(path: string): boolean {
  return path === DISCOVERY_PATH || path === OIDC_PREFIX || path.startsWith(`${OIDC_PREFIX}/`);
}
