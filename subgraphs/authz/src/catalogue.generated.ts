// Generated from every module.yaml by npm run generate. Do not edit.

/** A permission some module declares, as its manifest describes it. */
export interface CataloguedPermission {
  readonly name: string;
  readonly module: string;
  readonly description: string;
  /** Its module marks it public: anonymous callers may be given it unless config says otherwise. */
  readonly public: boolean;
}

/** Every permission of every module in this repository, sorted by name. */
export const PERMISSION_CATALOGUE: readonly CataloguedPermission[] = [
  { name: 'audit.event.read', module: 'audit', description: 'Read audit events of every module', public: false },
  {
    name: 'audit.event.verify',
    module: 'audit',
    description: "Check that the audit log's hash chain is intact",
    public: false,
  },
  {
    name: 'audit.security.read',
    module: 'audit',
    description: 'Follow security events live (securityEvents), not the rest of the log',
    public: false,
  },
  {
    name: 'authz.permission.read',
    module: 'authz',
    description: 'List every permission the modules declare',
    public: false,
  },
  { name: 'authz.role.assign', module: 'authz', description: 'Give roles to users and take them away', public: false },
  { name: 'authz.role.create', module: 'authz', description: 'Create new roles', public: false },
  { name: 'authz.role.delete', module: 'authz', description: 'Delete roles that are not built in', public: false },
  { name: 'authz.role.read', module: 'authz', description: 'List roles and see what they grant', public: false },
  {
    name: 'authz.role.update',
    module: 'authz',
    description: 'Rename roles and change their permissions',
    public: false,
  },
  { name: 'blog.post.create', module: 'blog', description: 'Write new posts', public: false },
  { name: 'blog.post.delete', module: 'blog', description: "Delete one's own posts", public: false },
  { name: 'blog.post.moderate', module: 'blog', description: "Edit or delete anyone's posts", public: false },
  { name: 'blog.post.read', module: 'blog', description: 'Read posts', public: true },
  { name: 'blog.post.update', module: 'blog', description: "Edit one's own posts", public: false },
  {
    name: 'identity.apikey.create',
    module: 'identity',
    description: 'Create API keys for service accounts (with permissions the creator holds)',
    public: false,
  },
  {
    name: 'identity.apikey.read',
    module: 'identity',
    description: "List anyone's API keys (everyone lists their own)",
    public: false,
  },
  {
    name: 'identity.apikey.revoke',
    module: 'identity',
    description: "Revoke anyone's API key (everyone revokes their own)",
    public: false,
  },
  {
    name: 'identity.client.create',
    module: 'identity',
    description: 'Register clients of the OpenID Connect provider',
    public: false,
  },
  {
    name: 'identity.client.delete',
    module: 'identity',
    description: 'Delete clients of the OpenID Connect provider',
    public: false,
  },
  {
    name: 'identity.client.read',
    module: 'identity',
    description: 'List the clients of the OpenID Connect provider',
    public: false,
  },
  {
    name: 'identity.client.update',
    module: 'identity',
    description: 'Change clients of the OpenID Connect provider and rotate their secrets',
    public: false,
  },
  {
    name: 'identity.serviceaccount.create',
    module: 'identity',
    description: 'Create service accounts: users without a password that only API keys act for',
    public: false,
  },
  { name: 'identity.user.delete', module: 'identity', description: "Delete any user's account", public: false },
  { name: 'identity.user.read', module: 'identity', description: "Read any user's profile and email", public: false },
  {
    name: 'identity.user.update',
    module: 'identity',
    description: "Edit any user's profile, email and verification state",
    public: false,
  },
];
