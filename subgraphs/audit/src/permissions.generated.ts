// Generated from module.yaml by npm run generate. Do not edit.

/** Permissions of the audit module, as declared in its module.yaml. */
export const Permission = {
  /** Read audit events of every module */
  EventRead: 'audit.event.read',
  /** Check that the audit log's hash chain is intact */
  EventVerify: 'audit.event.verify',
  /** Follow security events live (securityEvents), not the rest of the log */
  SecurityRead: 'audit.security.read',
} as const;

export type Permission = (typeof Permission)[keyof typeof Permission];
