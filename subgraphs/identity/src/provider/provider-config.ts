import { z } from 'zod';

/** Loopback hosts, the only ones an `http:` issuer may name (a provider started beside a test or on a laptop). */
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

const issuer = z
  .string()
  .url()
  .refine((value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname));
  }, 'must be an https URL (http only on a loopback host)');

/**
 * How a provider's claims give roles: the claim (a dotted path into the ID token's and userinfo's
 * claims, e.g. `groups` or `realm_access.roles`) holds a string or a list of strings; each value
 * listed in `map` gives the roles it names. At each sign-in the user holds exactly the roles the
 * claims give now among those this provider gave (authz keeps which came from where); roles
 * assigned by hand are never taken away.
 */
const roleMapping = z
  .object({
    claim: z.string().regex(/^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$/, 'a claim name, or a dotted path'),
    map: z.record(z.string(), z.array(z.string().min(1)).min(1)),
  })
  .strict();

/** One external OpenID Connect provider users may sign in with (`modules.identity.signInProviders.<id>`). */
export const signInProviderSchema = z
  .object({
    /** Shown to users (`signInProviders { name }`). */
    name: z.string().min(1).max(100),
    /** Its issuer: discovery is read from `<issuer>/.well-known/openid-configuration` on first use. */
    issuer,
    clientId: z.string().min(1),
    /**
     * The client secret this platform was given; declare a variable for it in `environment` so it
     * comes from `<NAME>` or `<NAME>_FILE` (docs/identity.md). Without: a public client (PKCE only).
     */
    clientSecret: z.string().min(1).optional(),
    /** Asked of the provider; `openid` is always asked. */
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/)).default(['openid', 'email', 'profile']),
    /** Someone the provider vouches for (a verified email) with no account here gets one. */
    createUsers: z.boolean().default(true),
    /** A first sign-in joins the account with the same verified email, when there is one. */
    linkByEmail: z.boolean().default(true),
    roles: roleMapping.optional(),
  })
  .strict();

export type SignInProviderConfig = z.infer<typeof signInProviderSchema>;

/** `signInProviders`: id (lower-case letters, digits, dashes: it is in the callback's path) → provider. */
export const signInProvidersSchema = z
  .record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'a provider id: a-z, 0-9 and dashes'), signInProviderSchema)
  .default({});
