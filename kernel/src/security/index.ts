export {
  LoginThrottle,
  type LockoutEnd,
  type LockoutStart,
  type LoginThrottleOptions,
  type ThrottleLimit,
  type ThrottleScope,
  type ThrottleVerdict,
} from './login-throttle.js';
export { accountKey, ipBucket, ipKey } from './throttle-keys.js';
export {
  CredentialRefusals,
  refusalRoute,
  type CredentialRefusal,
  type CredentialRefusalsOptions,
  type CredentialRefusedPayload,
} from './credential-refusals.js';
