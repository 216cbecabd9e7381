// Generated from module.yaml by npm run generate. Do not edit.

/** Permissions of the identity module, as declared in its module.yaml. */
export const Permission = {
  /** Read any user's profile and email */
  UserRead: 'identity.user.read',
  /** Edit any user's profile, email and verification state */
  UserUpdate: 'identity.user.update',
  /** Delete any user's account */
  UserDelete: 'identity.user.delete',
  /** List anyone's API keys (everyone lists their own) */
  ApikeyRead: 'identity.apikey.read',
  /** Create API keys for service accounts (with permissions the creator holds) */
  ApikeyCreate: 'identity.apikey.create',
  /** Revoke anyone's API key (everyone revokes their own) */
  ApikeyRevoke: 'identity.apikey.revoke',
  /** Create service accounts: users without a password that only API keys act for */
  ServiceaccountCreate: 'identity.serviceaccount.create',
  /** List the clients of the OpenID Connect provider */
  ClientRead: 'identity.client.read',
  /** Register clients of the OpenID Connect provider */
  ClientCreate: 'identity.client.create',
  /** Change clients of the OpenID Connect provider and rotate their secrets */
  ClientUpdate: 'identity.client.update',
  /** Delete clients of the OpenID Connect provider */
  ClientDelete: 'identity.client.delete',
} as const;

export type Permission = (typeof Permission)[keyof typeof Permission];
