import { z } from 'zod';
import { decodeKek, KEK_FORMAT } from './keys/key-encryption.js';
import { signInProvidersSchema } from './provider/provider-config.js';

/** A key-encryption key; the message never quotes the value. */
const kek = z.string().refine((value) => decodeKek(value) !== null, `must be ${KEK_FORMAT}`);

const limit = z.object({ attempts: z.number().int().min(1), windowSec: z.number().int().min(1) }).strict();

/** `modules.identity` in config: token lifetimes, link targets, password hashing, brute-force limits. */
export const identityConfigSchema = z
  .object({
    /**
     * Where links in emails point: `<appUrl>/verify-email?token=…`, `<appUrl>/reset-password?token=…`,
     * and `<appUrl>/reset-password` without a token (where to ask for a reset link).
     */
    appUrl: z.string().url().default('http://localhost:3000'),
    /** Name shown in emails. */
    productName: z.string().min(1).default('Platform'),
    refreshTokenTtlSec: z
      .number()
      .int()
      .min(60)
      .default(7 * 24 * 3600),
    verificationTtlHours: z.number().positive().default(24),
    /** Organizations (docs/tenancy.md): what one user may make, one organization may hold, how long an invitation lasts. */
    organizations: z
      .object({
        maxCreatedPerUser: z.number().int().min(0).default(20),
        maxMembers: z.number().int().min(1).default(1000),
        invitationTtlHours: z
          .number()
          .positive()
          .default(7 * 24),
      })
      .strict()
      .default({ maxCreatedPerUser: 20, maxMembers: 1000, invitationTtlHours: 7 * 24 }),
    resetTtlMinutes: z.number().positive().default(60),
    /**
     * Sessions expired or revoked, refresh tokens expired and email tokens expired or used are
     * deleted this many days later by the `expired-credentials` schedule (at least the access
     * token's lifetime: a revoked session stays listed as revoked that long).
     */
    credentialRetentionDays: z.number().positive().default(7),
    /** argon2id parameters (OWASP minimum by default); stronger values rehash old hashes on login. */
    password: z
      .object({
        memoryCost: z.number().int().min(19456).default(19456),
        timeCost: z.number().int().min(2).default(2),
        parallelism: z.number().int().min(1).default(1),
      })
      .strict()
      .default({ memoryCost: 19456, timeCost: 2, parallelism: 1 }),
    throttle: z
      .object({
        perAccount: limit.default({ attempts: 5, windowSec: 900 }),
        perIp: limit.default({ attempts: 50, windowSec: 900 }),
        /** At most one `identity.login.throttled` event per account and address per this many seconds. */
        refusalReportWindowSec: z.number().int().min(1).default(60),
      })
      .strict()
      .default({
        perAccount: { attempts: 5, windowSec: 900 },
        perIp: { attempts: 50, windowSec: 900 },
        refusalReportWindowSec: 60,
      }),
    /**
     * Token signing keys. Outside `signing`, they live in identity's database (table
     * `signing_key`), private halves encrypted under `encryptionKey`; see docs/security.md.
     */
    keys: z
      .object({
        /** Age of the newest key at which the next one is created (by whichever instance first sees it due). */
        rotateAfterDays: z.number().positive().default(30),
        /**
         * How long a scheduled key is published before it signs: longer than a JWKS can stay
         * cached anywhere (identity instances re-read keys every `refreshIntervalSec`, jwks.json
         * says max-age=300, verifiers keep a set up to 600 s), so no verifier meets its kid unknown.
         */
        publishLeadSec: z.number().int().min(0).default(3600),
        /** How often each instance re-reads the keys (new, rotated, removed by another instance). */
        refreshIntervalSec: z.number().int().min(1).max(300).default(30),
        /**
         * The key-encryption key (`SIGNING_KEY_ENCRYPTION_KEY` or `SIGNING_KEY_ENCRYPTION_KEY_FILE`):
         * 32 random bytes, base64 or hex (`openssl rand -base64 32`), the same on every identity
         * instance. Unset outside production: generated under dataDir/identity. Required in production.
         */
        encryptionKey: kek.nullable().default(null),
        /**
         * Earlier key-encryption keys (`SIGNING_KEY_PREVIOUS_ENCRYPTION_KEYS`, comma-separated): they
         * only decrypt; rows under them are re-encrypted under `encryptionKey` as they are read.
         */
        previousEncryptionKeys: z
          .preprocess(
            (value) => (typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : value),
            z.array(kek),
          )
          .default([]),
        /** Private signing keys (JWK) from a secret store; when given, the database holds no keys. */
        signing: z
          .array(z.object({ kid: z.string().min(1), privateJwk: z.record(z.string(), z.unknown()) }))
          .optional(),
      })
      .strict()
      .default({
        rotateAfterDays: 30,
        publishLeadSec: 3600,
        refreshIntervalSec: 30,
        encryptionKey: null,
        previousEncryptionKeys: [],
      }),
    /**
     * Seconds a user looked up by other subgraphs (`_entities`: a post's author) is served from
     * `runtime.cache`; a change of the user drops it at once. 0: no cache, each lookup a query.
     */
    userCacheTtlSec: z.number().int().min(0).max(3600).default(60),
    /** Avatars (`createUpload(purpose: AVATAR)`): the largest accepted, in bytes (default 2 MiB). */
    avatars: z
      .object({ maxBytes: z.number().int().min(1).max(52_428_800).default(2_097_152) })
      .strict()
      .default({ maxBytes: 2_097_152 }),
    /**
     * External OpenID Connect providers users may sign in with (`signInWithProvider`), by id;
     * docs/identity.md#sign-in-with-an-external-provider.
     */
    signInProviders: signInProvidersSchema,
    /**
     * Origins a sign-in with a provider may return to (`signInWithProvider(returnTo:)`), beside
     * `appUrl`'s, which always may. Anything else is refused: the answer carries a sign-in code.
     */
    providerReturnOrigins: z
      .array(
        z
          .string()
          .url()
          .refine((value) => new URL(value).origin === value.replace(/\/$/, ''), 'an origin (scheme, host, port)'),
      )
      .default([]),
    /** First administrator (`SEED_ADMIN_EMAIL` / `SEED_ADMIN_PASSWORD`), created idempotently. */
    seedAdmin: z.object({ email: z.string().email().optional(), password: z.string().optional() }).strict().default({}),
  })
  .strict();

export type IdentityConfig = z.infer<typeof identityConfigSchema>;
