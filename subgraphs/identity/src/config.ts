import { z } from 'zod';

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
    resetTtlMinutes: z.number().positive().default(60),
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
    keys: z
      .object({
        rotateAfterDays: z.number().positive().default(30),
        /** Private signing keys (JWK) from a secret store; when absent, kept under dataDir/identity/keys. */
        signing: z
          .array(z.object({ kid: z.string().min(1), privateJwk: z.record(z.string(), z.unknown()) }))
          .optional(),
      })
      .strict()
      .default({ rotateAfterDays: 30 }),
    /** First administrator (`SEED_ADMIN_EMAIL` / `SEED_ADMIN_PASSWORD`), created idempotently. */
    seedAdmin: z.object({ email: z.string().email().optional(), password: z.string().optional() }).strict().default({}),
  })
  .strict();

export type IdentityConfig = z.infer<typeof identityConfigSchema>;
