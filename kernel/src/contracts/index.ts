export {
  JWKS_PATH,
  REVOCATIONS_PATH,
  revocationHoldMs,
  revocationTopics,
  jwksUrlOf,
  tokenServiceOrigin,
  startRevocations,
  type AccessTokenProvider,
  type Revoked,
  type Revocations,
  type RevocationsOptions,
  type RevocationsAnswer,
} from './access-tokens.js';
export { PERMISSIONS_PATH, permissionServiceOrigin } from './permissions.js';
export { serviceOrigin } from './locate.js';
