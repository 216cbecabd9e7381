import { z } from 'zod';

/** `modules.blog` in config: how long list counts are cached, how long posts are kept. */
export const blogConfigSchema = z
  .object({
    /**
     * Seconds the `totalCount` of a post list is served from `runtime.cache` (per list: all posts,
     * one author's); every change that adds or removes posts drops the cached counts on every
     * instance once it commits. 0 counts on every request.
     */
    countCacheTtlSec: z.number().int().min(0).default(30),
    /**
     * Posts created longer ago than this many days are deleted by the `retention` schedule
     * (module.yaml), each with its `blog.post.deleted` event (reason `expired`); null keeps every
     * post forever.
     */
    retentionDays: z.number().int().min(1).nullable().default(null),
  })
  .strict();

export type BlogConfig = z.infer<typeof blogConfigSchema>;
