import { z } from 'zod';
import { PERMISSION_NAME } from '@platform/kernel/contracts';
import { PERMISSION_CATALOGUE } from './catalogue.generated.js';

const declared = new Set(PERMISSION_CATALOGUE.map((permission) => permission.name));

const declaredPermission = z
  .string()
  .regex(PERMISSION_NAME, 'must be module.resource.action (lower-case)')
  .refine((name) => declared.has(name), 'no module declares this permission');

/**
 * What organizations' roles may grant by default: managing the organization's own roles (authz
 * keeps those inside it). Modules whose data is scoped to the organization add theirs as they
 * become so.
 */
export const ORGANIZATION_PERMISSIONS = [
  'authz.permission.read',
  'authz.role.assign',
  'authz.role.create',
  'authz.role.delete',
  'authz.role.read',
  'authz.role.update',
] as const;

/** `modules.authz` in config. */
export const authzConfigSchema = z
  .object({
    /**
     * The only permissions the guest role (anonymous callers, and through it everyone) may be
     * given, even by an administrator: widening anonymous access is a deployment decision. Unset:
     * the permissions modules mark `public: true` in their manifests. `[]` allows none.
     */
    guestAllowList: z.array(declaredPermission).nullable().default(null),
    /**
     * The only permissions a role of an organization may grant (docs/tenancy.md): those whose
     * module keeps them inside the caller's active organization. A permission outside it could
     * reach every organization's data; an organization's roles never grant it, even if one did
     * before the list was narrowed.
     */
    organizationAllowList: z.array(declaredPermission).default([...ORGANIZATION_PERMISSIONS]),
    /**
     * The built-in roles each organization gets when it is made: `admin` for its owners and
     * administrators, `member` for its members (identity's membership roles), with these grants
     * (each within `organizationAllowList`).
     */
    organizationRoles: z
      .object({
        admin: z.array(declaredPermission).default([...ORGANIZATION_PERMISSIONS]),
        member: z.array(declaredPermission).default([]),
      })
      .strict()
      .default({ admin: [...ORGANIZATION_PERMISSIONS], member: [] }),
  })
  .strict()
  .superRefine((config, ctx) => {
    const allowed = new Set(config.organizationAllowList);
    for (const role of ['admin', 'member'] as const) {
      for (const [i, name] of config.organizationRoles[role].entries()) {
        if (!allowed.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['organizationRoles', role, i],
            message: `${name} is not in organizationAllowList`,
          });
        }
      }
    }
  });

export type AuthzConfig = z.infer<typeof authzConfigSchema>;

/** The guest allow-list in effect: the configured one, else every permission declared public. */
export function guestAllowList(config: AuthzConfig): ReadonlySet<string> {
  return new Set(config.guestAllowList ?? PERMISSION_CATALOGUE.filter((p) => p.public).map((p) => p.name));
}
