// Generated from every module.yaml by npm run generate. Do not edit.

/** A permission some module declares, as its manifest describes it. */
export interface CataloguedPermission {
  readonly name: string;
  readonly module: string;
  readonly description: string;
}

/** Every permission of every module in this repository, sorted by name. */
export const PERMISSION_CATALOGUE: readonly CataloguedPermission[] = [
  { name: 'audit.event.read', module: 'audit', description: 'Read audit events of every module' },
  { name: 'audit.event.verify', module: 'audit', description: "Check that the audit log's hash chain is intact" },
  { name: 'authz.permission.read', module: 'authz', description: 'List every permission the modules declare' },
  { name: 'authz.role.assign', module: 'authz', description: 'Give roles to users and take them away' },
  { name: 'authz.role.create', module: 'authz', description: 'Create new roles' },
  { name: 'authz.role.delete', module: 'authz', description: 'Delete roles that are not built in' },
  { name: 'authz.role.read', module: 'authz', description: 'List roles and see what they grant' },
  { name: 'authz.role.update', module: 'authz', description: 'Rename roles and change their permissions' },
  { name: 'blog.post.create', module: 'blog', description: 'Write new posts' },
  { name: 'blog.post.delete', module: 'blog', description: "Delete one's own posts" },
  { name: 'blog.post.moderate', module: 'blog', description: "Edit or delete anyone's posts" },
  { name: 'blog.post.read', module: 'blog', description: 'Read posts' },
  { name: 'blog.post.update', module: 'blog', description: "Edit one's own posts" },
  { name: 'identity.user.delete', module: 'identity', description: "Delete any user's account" },
  { name: 'identity.user.read', module: 'identity', description: "Read any user's profile and email" },
  {
    name: 'identity.user.update',
    module: 'identity',
    description: "Edit any user's profile, email and verification state",
  },
];
