export {
  SigningKeys,
  SIGNING_ALG,
  signAccessToken,
  type SigningKeysOptions,
  type ConfiguredSigningKey,
  type PublicSigningJwk,
  type AccessTokenClaims,
  type AccessTokenOptions,
} from './signing-keys.js';
