import { z } from 'zod';

/** `modules.audit` in config: how long records are kept, where pruned ones are archived, how checkpoints are signed. */
export const auditConfigSchema = z
  .object({
    /**
     * Records older than this many days are archived and pruned by the maintenance job
     * (`platformctl audit prune`, and every `pruneIntervalMinutes` in the service); unset keeps
     * every record forever.
     */
    retentionDays: z.number().int().min(1).nullable().default(null),
    /**
     * Where archives (JSON lines) are written before records are deleted; default
     * `<dataDir>/audit/archive` outside production. Required in production for pruning: storage
     * that outlives the instances and that every audit instance and platformctl share (a volume).
     */
    archiveDir: z.string().min(1).nullable().default(null),
    /**
     * 0 leaves pruning to `platformctl audit prune`. Otherwise, when `retentionDays` is set, the
     * `retention` schedule (module.yaml: hourly; `jobs.schedules` in config changes it) prunes,
     * once per deployment; values other than 0 are kept for configs of earlier versions.
     */
    pruneIntervalMinutes: z.number().int().min(0).default(60),
    /** Most records one prune run archives and deletes; the next run continues. */
    pruneBatchLimit: z.number().int().min(1).default(100_000),
    /**
     * How often a periodic checkpoint of the chain head (seq, hash, time, key id) is signed, when
     * records were appended since the latest checkpoint: the `checkpoint` schedule (module.yaml:
     * every minute) signs once this long has passed, one instance per deployment. 0 turns
     * periodic checkpoints off (prune checkpoints remain).
     */
    checkpointIntervalSeconds: z.number().int().min(0).default(60),
    /**
     * The Ed25519 private key this instance signs checkpoints with, from a secret store: a
     * PKCS#8 PEM, or a private JWK (object or JSON text). Unset (and no file): a key is
     * generated on first start under `<dataDir>/audit/keys` (mode 0600). Its public half is
     * registered in the database for every verifier; the private half never is.
     */
    checkpointSigningKey: z
      .union([z.string().min(1), z.record(z.string(), z.unknown())])
      .nullable()
      .default(null),
    /** A file holding that key (PEM or JWK), instead of `checkpointSigningKey`. */
    checkpointSigningKeyFile: z.string().min(1).nullable().default(null),
    /**
     * Key ids (RFC 7638 thumbprints, as `/.well-known/audit-keys` lists them) whose checkpoint
     * signatures verification accepts. Unset: every key registered in the database is accepted,
     * and anyone able to write that table could add one; pin the keys here when that matters.
     */
    trustedCheckpointKeys: z
      .array(z.string().regex(/^[\w-]{43}$/, 'a key id: 43 base64url characters'))
      .nullable()
      .default(null),
    /**
     * Prune checkpoints written without a signature before signing existed (seq up to this
     * number) that an operator vouches for, having checked their archives. Unset: an unsigned
     * checkpoint breaks verification.
     */
    trustUnsignedCheckpointsThrough: z.number().int().min(1).nullable().default(null),
    /**
     * Legacy: the HMAC-SHA256 key (32+ characters) earlier versions signed prune checkpoints
     * with. Kept so those checkpoints still verify; new checkpoints are always Ed25519-signed.
     */
    checkpointKey: z.string().min(32).nullable().default(null),
  })
  .strict();

export type AuditConfig = z.infer<typeof auditConfigSchema>;
