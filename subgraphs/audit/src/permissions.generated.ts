// Generated from module.yaml by npm run generate. Do not edit.

/** Permissions of the audit module, as declared in its module.yaml. */
export const Permission = {
  /** Read audit events of every module */
  EventRead: 'audit.event.read',
  /** Verify that the audit hash chain is unbroken */
  EventVerify: 'audit.event.verify',
} as const;

export type Permission = (typeof Permission)[keyof typeof Permission];
