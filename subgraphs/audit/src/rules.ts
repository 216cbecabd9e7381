import { authenticated, publicAccess, type IRules } from '@platform/kernel';

/**
 * Who may touch what. Until authz answers permission checks, reading the audit log needs a
 * signed-in caller (the `audit.event.read` check replaces `authenticated` once it exists).
 */
export const rules: IRules = {
  Query: {
    auditEvents: authenticated,
  },
  AuditEvent: authenticated,
  // Only the id of identity's user, reachable only through an audit event.
  User: publicAccess,
};
