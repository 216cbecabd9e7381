import { publicAccess, type IRules } from '@platform/kernel';

/** Who may touch what. Reading is public (guests read the blog). */
export const rules: IRules = {
  Query: {
    post: publicAccess,
    posts: publicAccess,
  },
  Post: publicAccess,
  User: publicAccess,
};
