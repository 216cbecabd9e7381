export { InvalidTokenError, INVALID_TOKEN_MESSAGE, type TokenRejectionReason } from './invalid-token.error.js';
export type { KeySource, LocalKeySource, RemoteKeySource } from './key-set.js';
export {
  RevocationList,
  type RevocationCheck,
  type RevocationListOptions,
  type RevocationSnapshot,
} from './revocation-list.js';
export { TokenVerifier, type HeaderCarrier, type TokenVerifierOptions, type VerifiedToken } from './token-verifier.js';
export { primeRevocations, REVOCATIONS_PATH, type RevocationPrimingOptions } from './revocation-priming.js';
