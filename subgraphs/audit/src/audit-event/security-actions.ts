import { InputError } from '@platform/kernel';

/**
 * What `securityEvents` delivers: the actions a security dashboard follows live to see an attack
 * as it happens (docs/audit.md, "Security events"). Routine traffic (successful logins, logouts,
 * profile edits, posts) stays out; holders of `audit.event.read` follow everything with
 * `auditEventRecorded`.
 */
export const SECURITY_ACTIONS = [
  // Credentials under attack
  'identity.login.failed',
  'identity.login.throttled',
  'identity.lockout.started',
  'identity.lockout.ended',
  'identity.refresh.reused',
  'identity.registration.duplicate',
  'identity.password.reset_requested',
  'identity.password.changed',
  // Second factors added, removed, or stood in for
  'identity.totp.enabled',
  'identity.totp.disabled',
  'identity.totp.recovery_code_used',
  'identity.totp.recovery_codes_regenerated',
  // A provider's user now signs in to the account (docs/identity.md#sign-in-with-an-external-provider)
  'identity.provider.linked',
  // Who may do what
  'authz.role.created',
  'authz.role.updated',
  'authz.role.deleted',
  'authz.grant.changed',
  'authz.assignment.created',
  'authz.assignment.deleted',
  // Who belongs to which organization, and with what say over it (docs/tenancy.md)
  'identity.organization.member_added',
  'identity.organization.member_role_changed',
  'identity.organization.member_removed',
  // Credentials made for programs (docs/identity.md#api-keys-and-service-accounts)
  'identity.apikey.created',
  'identity.apikey.revoked',
  'identity.serviceaccount.created',
  // OpenID Connect clients: credentials too (docs/identity.md#openid-connect-provider)
  'identity.client.created',
  'identity.client.secret_rotated',
  'identity.client.deleted',
  // Callers posing as services
  'kernel.credential.refused',
] as const;

const SECURITY = new Set<string>(SECURITY_ACTIONS);

/** Whether `action` is one `securityEvents` delivers. */
export const isSecurityAction = (action: string): boolean => SECURITY.has(action);

/**
 * The actions a `securityEvents(actions:)` subscription follows: all of them when none are given;
 * otherwise the given ones, each of which must be a security action (BAD_USER_INPUT naming the others).
 */
export function securityActionsOf(actions: readonly string[] | null | undefined): ReadonlySet<string> {
  if (actions === null || actions === undefined) return SECURITY;
  if (actions.length === 0) throw InputError.field('actions', 'must name at least one action, or be left out for all');
  const unknown = actions.filter((action) => !SECURITY.has(action));
  if (unknown.length > 0) {
    throw InputError.field(
      'actions',
      `${unknown
        .slice(0, 5)
        .map((action) => JSON.stringify(action.slice(0, 100)))
        .join(
          ', ',
        )} ${unknown.length === 1 ? 'is not a security action' : 'are not security actions'} (see docs/audit.md)`,
    );
  }
  return new Set(actions);
}
