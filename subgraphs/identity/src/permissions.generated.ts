// Generated from module.yaml by npm run generate. Do not edit.

/** Permissions of the identity module, as declared in its module.yaml. */
export const Permission = {
  /** Read any user's profile and email */
  UserRead: 'identity.user.read',
  /** Edit any user's profile, email and verification state */
  UserUpdate: 'identity.user.update',
  /** Delete any user's account */
  UserDelete: 'identity.user.delete',
} as const;

export type Permission = (typeof Permission)[keyof typeof Permission];
