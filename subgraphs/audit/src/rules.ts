import { or, permission, publicAccess, type IRules } from '@platform/kernel';
import { Permission } from './permissions.generated.js';

/**
 * Who may touch what. The audit log is readable only with `audit.event.read`, whichever way it
 * is reached; `audit.security.read` follows its security-relevant records live (`securityEvents`)
 * and nothing else; checking its integrity takes `audit.event.verify`. Nothing changes records.
 */
export const rules: IRules = {
  Query: {
    auditEvents: permission(Permission.EventRead),
    verifyAuditChain: permission(Permission.EventVerify),
  },
  // Checked when subscribing and again for every record delivered.
  Subscription: {
    auditEventRecorded: permission(Permission.EventRead),
    securityEvents: permission(Permission.SecurityRead),
  },
  // A record's fields, for either: holders of audit.security.read reach records only through
  // securityEvents (auditEvents and entity lookups take audit.event.read), which delivers only
  // security actions.
  AuditEvent: or(permission(Permission.EventRead), permission(Permission.SecurityRead)),
  AuditChainReport: permission(Permission.EventVerify),
  // Only the id of identity's user, reachable only through an audit event.
  User: publicAccess,
};
