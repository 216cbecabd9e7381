import { permission, publicAccess, type IRules } from '@platform/kernel';
import { Permission } from './permissions.generated.js';

/**
 * Who may touch what. The audit log is readable only with `audit.event.read`, whichever way it
 * is reached; checking its integrity takes `audit.event.verify`. Nothing changes records.
 */
export const rules: IRules = {
  Query: {
    auditEvents: permission(Permission.EventRead),
    verifyAuditChain: permission(Permission.EventVerify),
  },
  // Checked when subscribing and again for every record delivered.
  Subscription: {
    auditEventRecorded: permission(Permission.EventRead),
  },
  AuditEvent: permission(Permission.EventRead),
  AuditChainReport: permission(Permission.EventVerify),
  // Only the id of identity's user, reachable only through an audit event.
  User: publicAccess,
};
