import type { GraphQLContext } from '@platform/kernel';
import type { Delegator } from './grant/delegation.js';
import type { AuthzServices } from './services.js';

/** What authz's resolvers receive. */
export type AuthzContext = GraphQLContext<AuthzServices>;

/** The caller of a change to roles or assignments, whose authority bounds it. */
export const delegatorOf = (ctx: AuthzContext): Delegator => ({
  userId: ctx.user?.id,
  logger: ctx.logger,
  ...(ctx.user?.restriction ? { restriction: ctx.user.restriction } : {}),
  organizationId: ctx.user?.organizationId ?? null,
});
