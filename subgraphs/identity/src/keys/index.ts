export {
  SigningKeys,
  SIGNING_ALG,
  signAccessToken,
  type SigningKeysOptions,
  type SigningKeyInfo,
  type ConfiguredSigningKey,
  type PublicSigningJwk,
  type AccessTokenClaims,
  type AccessTokenOptions,
} from './signing-keys.js';
export { KeyEncryption, keyEncryptionFromConfig, KEK_SETTING } from './key-encryption.js';
