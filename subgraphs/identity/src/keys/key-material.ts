import { importJWK, type CryptoKey, type JWK } from 'jose';
import { ConfigError, type ConfigIssue } from '@platform/kernel';

/** The only algorithm these keys sign with. */
export const SIGNING_ALG = 'EdDSA';

/** A private signing key from a secret store (config `modules.identity.keys.signing`). */
export interface ConfiguredSigningKey {
  kid: string;
  privateJwk: JWK | Record<string, unknown>;
}

/** A public key as published in the JWKS. */
export interface PublicSigningJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: typeof SIGNING_ALG;
  use: 'sig';
}

/** One usable key: the private half for signing, the public half for the JWKS. */
export interface KeyEntry {
  kid: string;
  createdAt: number;
  privateKey: CryptoKey;
  publicJwk: Readonly<PublicSigningJwk>;
}

/** Configured keys in their order (the first signs); every bad entry is reported at once. */
export async function loadConfigured(configured: ConfiguredSigningKey[]): Promise<KeyEntry[]> {
  const issues: ConfigIssue[] = [];
  const entries: KeyEntry[] = [];
  if (!configured.length) issues.push({ path: 'modules.identity.keys.signing', message: 'must list at least one key' });
  const now = Date.now();
  for (const [i, key] of configured.entries()) {
    if (configured.findIndex((other) => other.kid === key.kid) !== i) {
      issues.push({ path: `modules.identity.keys.signing.${i}.kid`, message: `duplicate kid ${key.kid}` });
      continue;
    }
    try {
      // Order, not age, decides for configured keys: the first signs.
      entries.push(await importSigningKey(key.kid, now - i, key.privateJwk as JWK));
    } catch (error) {
      issues.push({ path: `modules.identity.keys.signing.${i}`, message: (error as Error).message });
    }
  }
  if (issues.length) throw new ConfigError(issues);
  return entries;
}

/**
 * Imports a private Ed25519 JWK and derives the public JWK. WebCrypto refuses a `d` that does not
 * belong to its `x`, so a half-edited secret fails here, at start, not at the first verification.
 */
export async function importSigningKey(kid: string, createdAt: number, jwk: JWK): Promise<KeyEntry> {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw new Error('not a private Ed25519 JWK (kty OKP, crv Ed25519, x and d)');
  }
  // Only the public members are copied: nothing else of the private JWK can reach the JWKS.
  const publicJwk = Object.freeze({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid, alg: SIGNING_ALG, use: 'sig' } as const);
  let privateKey: CryptoKey | Uint8Array;
  try {
    privateKey = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, SIGNING_ALG);
  } catch {
    // The library's message is not passed on: it is not ours to promise it never quotes key data.
    throw new Error('the JWK could not be imported as an Ed25519 key');
  }
  if (privateKey instanceof Uint8Array) throw new Error('not an asymmetric key');
  return { kid, createdAt, privateKey, publicJwk };
}
