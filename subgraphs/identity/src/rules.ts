import {
  ForbiddenError,
  publicAccess,
  rule,
  type GraphQLContext,
  type IRules,
  type ShieldRule,
} from '@platform/kernel';

/**
 * The caller is the user being read. Not cached across parents: one request may read many
 * users, and the answer differs per user.
 */
export const isSelf: ShieldRule = rule({ cache: 'no_cache' })((parent: { id: string }, _args, ctx: GraphQLContext) => {
  const callerId = ctx.user?.id.toLowerCase();
  return callerId !== undefined && callerId === parent.id.toLowerCase()
    ? true
    : new ForbiddenError('Only the user themself can see this');
});

/** Profiles are public (a blog shows its authors); contact details are the user's own. */
export const rules: IRules = {
  Query: {
    user: publicAccess,
    me: publicAccess,
  },
  User: {
    id: publicAccess,
    displayName: publicAccess,
    createdAt: publicAccess,
    updatedAt: publicAccess,
    email: isSelf,
    emailVerified: isSelf,
  },
};
