// Generated from every module.yaml by npm run generate. Do not edit.

/** Every topic a module (or the kernel) publishes: what audit records, sorted. */
export const AUDITED_TOPICS: readonly string[] = [
  'authz.assignment.created',
  'authz.assignment.deleted',
  'authz.grant.changed',
  'authz.role.created',
  'authz.role.deleted',
  'authz.role.updated',
  'blog.post.created',
  'blog.post.deleted',
  'blog.post.updated',
  'identity.lockout.ended',
  'identity.lockout.started',
  'identity.login.failed',
  'identity.login.succeeded',
  'identity.login.throttled',
  'identity.password.changed',
  'identity.password.reset_requested',
  'identity.refresh.reused',
  'identity.registration.duplicate',
  'identity.session.revoked',
  'identity.user.created',
  'identity.user.deleted',
  'identity.user.email_verified',
  'identity.user.updated',
  'kernel.credential.refused',
];
