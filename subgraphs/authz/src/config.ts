import { z } from 'zod';
import { PERMISSION_NAME } from '@platform/kernel/contracts';
import { PERMISSION_CATALOGUE } from './catalogue.generated.js';

const declared = new Set(PERMISSION_CATALOGUE.map((permission) => permission.name));

/** `modules.authz` in config. */
export const authzConfigSchema = z
  .object({
    /**
     * The only permissions the guest role (anonymous callers, and through it everyone) may be
     * given, even by an administrator: widening anonymous access is a deployment decision. Unset:
     * the permissions modules mark `public: true` in their manifests. `[]` allows none.
     */
    guestAllowList: z
      .array(
        z
          .string()
          .regex(PERMISSION_NAME, 'must be module.resource.action (lower-case)')
          .refine((name) => declared.has(name), 'no module declares this permission'),
      )
      .nullable()
      .default(null),
  })
  .strict();

export type AuthzConfig = z.infer<typeof authzConfigSchema>;

/** The guest allow-list in effect: the configured one, else every permission declared public. */
export function guestAllowList(config: AuthzConfig): ReadonlySet<string> {
  return new Set(config.guestAllowList ?? PERMISSION_CATALOGUE.filter((p) => p.public).map((p) => p.name));
}
