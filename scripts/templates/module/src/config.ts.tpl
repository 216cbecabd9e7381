import { z } from 'zod';

/** `modules.__name__` in config: how long list counts are cached, how long __resources__ are kept. */
export const __name__ConfigSchema = z
  .object({
    /**
     * Seconds the `totalCount` of a __resource__ list is served from `runtime.cache` (per list: all __resources__,
     * one author's); every change that adds or removes __resources__ drops the cached counts on every
     * instance once it commits. 0 counts on every request.
     */
    countCacheTtlSec: z.number().int().min(0).default(30),
    /**
     * __Resources__ created longer ago than this many days are deleted by the `retention` schedule
     * (module.yaml), each with its `__name__.__resource__.deleted` event (reason `expired`); null keeps every
     * __resource__ forever.
     */
    retentionDays: z.number().int().min(1).nullable().default(null),
  })
  .strict();

export type __Name__Config = z.infer<typeof __name__ConfigSchema>;
