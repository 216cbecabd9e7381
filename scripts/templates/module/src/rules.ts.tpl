import {
  and,
  ForbiddenError,
  isUuid,
  or,
  permission,
  publicAccess,
  rule,
  type GraphQLContext,
  type IRules,
  type ShieldRule,
} from '@platform/kernel';
import { Permission } from './permissions.generated.js';
import { load__Resource__ } from './__resource__/__resource__.reference.js';

/**
 * The caller wrote the __resource__ `args.id`. The answer depends on the arguments, so it is
 * cached per arguments (`strict`), never per request (`contextual`): one operation may change
 * several __resources__ under aliases. A malformed id or a missing __resource__ passes, and the
 * resolver answers BAD_USER_INPUT or NOT_FOUND.
 */
function isAuthor(own: Permission): ShieldRule {
  return rule(`isAuthor:${own}`, { cache: 'strict' })(async (_parent, args: { id?: unknown }, ctx: GraphQLContext) => {
    if (!isUuid(args.id)) return true;
    const found = await load__Resource__(ctx, args.id.toLowerCase());
    if (!found || found.authorId === ctx.user?.id.toLowerCase()) return true;
    return new ForbiddenError(
      `Missing permission ${Permission.__Resource__Manage}: ${own} allows this on your own __resources__ only`,
      Permission.__Resource__Manage,
    );
  });
}

/** The author holding `own`, or anyone who manages every __resource__. */
function ownOrManager(own: Permission): ShieldRule {
  return or(and(permission(own), isAuthor(own)), permission(Permission.__Resource__Manage));
}

const read = permission(Permission.__Resource__Read);

/** Who may touch what: every field has a rule, and a field without one would be denied. */
export const rules: IRules = {
  Query: {
    __resource__: read,
    __resources__: read,
  },
  Mutation: {
    create__Resource__: permission(Permission.__Resource__Create),
    update__Resource__: ownOrManager(Permission.__Resource__Update),
    delete__Resource__: ownOrManager(Permission.__Resource__Delete),
  },
  __Resource__: read,
  // The id of identity's user, reachable only through a __resource__ the caller may read.
  User: publicAccess,
};
