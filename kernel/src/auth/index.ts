export { InvalidTokenError, INVALID_TOKEN_MESSAGE, type TokenRejectionReason } from './invalid-token.error.js';
export type { KeySource, LocalKeySource, RemoteKeySource } from './key-set.js';
export {
  RevocationList,
  type RevocationCheck,
  type RevocationListOptions,
  type RevocationSnapshot,
} from './revocation-list.js';
export { TokenVerifier, type HeaderCarrier, type TokenVerifierOptions, type VerifiedToken } from './token-verifier.js';
export {
  remoteRevocations,
  RevocationSync,
  RevocationsStaleError,
  type RevocationSource,
  type RevocationsSince,
  type RevocationSyncOptions,
} from './revocation-sync.js';
