export { accountKey, ipBucket, ipKey } from './throttle-keys.js';
export {
  CredentialRefusals,
  refusalRoute,
  type CredentialRefusal,
  type CredentialRefusalsOptions,
  type CredentialRefusedPayload,
} from './credential-refusals.js';
