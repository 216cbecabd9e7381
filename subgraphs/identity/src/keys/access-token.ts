import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey } from 'jose';
import { SIGNING_ALG } from './key-material.js';

/**
 * Who the token is for: the user (`sub`), the session it belongs to (`sid`, for revocation) and
 * the organization active in it (`org`, only for a member; absent: none).
 */
export interface AccessTokenClaims {
  sub: string;
  sid: string;
  org?: string | null;
}

export interface AccessTokenOptions {
  issuer: string;
  audience: string;
  ttlSec: number;
}

/**
 * A short-lived JWT signed with the current key: header `{ alg: 'EdDSA', kid, typ: 'JWT' }`,
 * claims `sub`, `sid`, `org` (when one is active), `iat`, `exp`, `iss`, `aud` and a unique `jti`. Verifiers find the key
 * by `kid` in `SigningKeys.jwks()`.
 */
export async function signAccessToken(
  keys: { current(): { kid: string; privateKey: CryptoKey } },
  claims: AccessTokenClaims,
  options: AccessTokenOptions,
): Promise<{ token: string; expiresIn: number }> {
  const { kid, privateKey } = keys.current();
  const issuedAt = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ sid: claims.sid, ...(claims.org ? { org: claims.org } : {}) })
    .setProtectedHeader({ alg: SIGNING_ALG, kid, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + options.ttlSec)
    .setJti(randomUUID())
    .sign(privateKey);
  return { token, expiresIn: options.ttlSec };
}
