/**
 * `@platform/kernel/contracts`: for the modules that implement the kernel's contracts (identity
 * issues access tokens, authz computes permissions; see kernel/src/contracts/), and the keys the
 * gateway's rate limits share with identity's login throttle. A product module needs none of it.
 */
export {
  JWKS_PATH,
  REVOCATIONS_PATH,
  revocationHoldMs,
  type AccessTokenProvider,
  type RevocationsAnswer,
} from './contracts/access-tokens.js';
export type { RevocationSnapshot } from './auth/revocation-list.js';
export { PERMISSIONS_PATH } from './contracts/permissions.js';
export {
  API_KEY_EXCHANGE_PATH,
  API_KEY_PREFIX,
  displayPrefix,
  isWellFormedApiKey,
  looksLikeApiKey,
  newApiKey,
} from './auth/api-key-format.js';
export type { EffectivePermissions, PermissionResolver } from './graphql/permissions.js';
export { restrictTo } from './graphql/permissions.js';
export { PERMISSION_NAME } from './module/manifest.js';
export { accountKey, ipBucket, ipKey } from './security/throttle-keys.js';
