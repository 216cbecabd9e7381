import { permission, publicAccess, type IRules } from '@platform/kernel';
import { Permission } from './permissions.generated.js';

/** Who may touch what. The audit log is readable only with `audit.event.read`, whichever way it is reached. */
export const rules: IRules = {
  Query: {
    auditEvents: permission(Permission.EventRead),
  },
  AuditEvent: permission(Permission.EventRead),
  // Only the id of identity's user, reachable only through an audit event.
  User: publicAccess,
};
