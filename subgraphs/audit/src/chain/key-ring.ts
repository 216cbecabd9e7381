import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical.js';

/** The public half of an Ed25519 key, as a JWK (RFC 8037). */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
}

/** A key a verifier may check checkpoint signatures with. */
export interface KnownKey {
  /** RFC 7638 thumbprint (SHA-256, base64url) of `jwk`: the key's name, derived from the key itself. */
  kid: string;
  jwk: PublicJwk;
  key: KeyObject;
  /** When it was registered in the database (or written to an export), if known. */
  createdAt: Date | null;
}

/**
 * RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order, base64url.
 * A kid computed this way cannot be claimed for another key: verifiers recompute it.
 */
export function jwkThumbprint(jwk: PublicJwk): string {
  return createHash('sha256')
    .update(canonicalJson({ crv: jwk.crv, kty: jwk.kty, x: jwk.x }), 'utf8')
    .digest('base64url');
}

/** Checks the shape of a public Ed25519 JWK and imports it; throws with a short reason otherwise. */
export function importPublicJwk(value: unknown): { jwk: PublicJwk; key: KeyObject } {
  const jwk = value as Partial<PublicJwk> | null;
  if (!jwk || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || !/^[\w-]{43}$/.test(jwk.x)) {
    throw new Error('not a public Ed25519 JWK (kty OKP, crv Ed25519, x)');
  }
  const clean: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  return { jwk: clean, key: createPublicKey({ key: { ...clean }, format: 'jwk' }) };
}

/** A known key from a stored or exported public JWK; the kid must be the JWK's thumbprint. */
export function knownKey(kid: string, jwk: unknown, createdAt: Date | null): KnownKey {
  const imported = importPublicJwk(jwk);
  const thumbprint = jwkThumbprint(imported.jwk);
  if (thumbprint !== kid) throw new Error(`kid ${kid} is not the thumbprint of its key (${thumbprint})`);
  return { kid, ...imported, createdAt };
}
