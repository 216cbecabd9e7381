export {
  PasswordHasher,
  DEFAULT_ARGON2_PARAMS,
  parseArgon2Hash,
  type Argon2Params,
  type Argon2HashInfo,
  type PasswordHasherOptions,
} from './hasher.js';
export { checkPasswordPolicy, assertPasswordPolicy, PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH } from './policy.js';
