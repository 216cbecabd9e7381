// Generated from module.yaml by npm run generate. Do not edit.

/** Permissions of the blog module, as declared in its module.yaml. */
export const Permission = {
  /** Read posts */
  PostRead: 'blog.post.read',
  /** Write new posts */
  PostCreate: 'blog.post.create',
  /** Edit one's own posts */
  PostUpdate: 'blog.post.update',
  /** Delete one's own posts */
  PostDelete: 'blog.post.delete',
  /** Edit or delete anyone's posts */
  PostModerate: 'blog.post.moderate',
} as const;

export type Permission = (typeof Permission)[keyof typeof Permission];
