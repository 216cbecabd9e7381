import {
  and,
  ForbiddenError,
  isUuid,
  or,
  perCaller,
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
 * The caller wrote the __resource__ `args.id`, for an action `own` allows on one's own __resources__. The __resource__
 * is loaded through the request's DataLoader (one query for every rule and lookup of the
 * request); the service reads it again, locked, when it changes it. A malformed id or a __resource__
 * that does not exist passes: the resolver then answers BAD_USER_INPUT or NOT_FOUND (see
 * `own__Resource__OrModerator`). Cached per arguments (`strict`), never per request: one operation may
 * update several __resources__ under aliases, and each needs its own answer.
 */
function isAuthor(own: Permission): ShieldRule {
  return rule(`isAuthor:${own}`, { cache: 'strict' })(async (_parent, args: { id?: unknown }, ctx: GraphQLContext) => {
    if (!isUuid(args.id)) return true;
    const found = await load__Resource__(ctx, args.id.toLowerCase());
    if (!found || found.authorId === ctx.user?.id.toLowerCase()) return true;
    return new ForbiddenError(
      `Missing permission ${Permission.__Resource__Moderate}: ${own} allows this on your own __resources__ only`,
      Permission.__Resource__Moderate,
    );
  });
}

/**
 * The __resource__'s author holding `own`, or a moderator. A __resource__ that does not exist is NOT_FOUND for
 * anyone who holds `own` or moderates (they could act on some __resource__), and FORBIDDEN for anyone
 * else: an existing __resource__ is FORBIDDEN too for them, so the answer reveals nothing. That a __resource__
 * exists is no secret anyway — anyone with __name__.__resource__.read can look it up.
 */
function own__Resource__OrModerator(own: Permission): ShieldRule {
  return or(and(permission(own), isAuthor(own)), permission(Permission.__Resource__Moderate));
}

const read = permission(Permission.__Resource__Read);

/** Who may touch what: a field without a rule is denied. __name__.__resource__.read is public (module.yaml): the guest role may hold it. */
export const rules: IRules = {
  Query: {
    __resource__: read,
    __resources__: read,
  },
  Mutation: {
    // The caller becomes the author.
    create__Resource__: perCaller(permission(Permission.__Resource__Create)),
    update__Resource__: own__Resource__OrModerator(Permission.__Resource__Update),
    delete__Resource__: own__Resource__OrModerator(Permission.__Resource__Delete),
  },
  __Resource__: read,
  User: {
    // The key only: whether the user exists and who they are is identity's to say.
    id: publicAccess,
  },
};
