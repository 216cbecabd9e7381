import { z } from 'zod';

/** `modules.audit` in config: how long records are kept, where pruned ones are archived. */
export const auditConfigSchema = z
  .object({
    /**
     * Records older than this many days are archived and pruned by the maintenance job
     * (`platformctl audit prune`, and every `pruneIntervalMinutes` in the service); unset keeps
     * every record forever.
     */
    retentionDays: z.number().int().min(1).nullable().default(null),
    /** Where archives (JSON lines) are written before records are deleted; default `<dataDir>/audit/archive`. */
    archiveDir: z.string().min(1).nullable().default(null),
    /** How often a running audit service prunes, when `retentionDays` is set; 0 leaves it to `platformctl`. */
    pruneIntervalMinutes: z.number().int().min(0).default(60),
    /** Most records one prune run archives and deletes; the next run continues. */
    pruneBatchLimit: z.number().int().min(1).default(100_000),
    /**
     * HMAC-SHA256 key (at least 32 characters, from a secret store) that signs checkpoints, so a
     * forged checkpoint cannot hide pruned-away tampering. Unset: checkpoints are unsigned.
     */
    checkpointKey: z.string().min(32).nullable().default(null),
  })
  .strict();

export type AuditConfig = z.infer<typeof auditConfigSchema>;
