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
import { loadPost } from './post/post.reference.js';

/**
 * The caller wrote the post `args.id`, for an action `own` allows on one's own posts. The post
 * is loaded through the request's DataLoader (one query for every rule and lookup of the
 * request); the service reads it again, locked, when it changes it. A malformed id or a post
 * that does not exist passes: the resolver then answers BAD_USER_INPUT or NOT_FOUND (see
 * `ownPostOrModerator`). Cached per arguments (`strict`), never per request: one operation may
 * update several posts under aliases, and each needs its own answer.
 */
function isAuthor(own: Permission): ShieldRule {
  return rule(`isAuthor:${own}`, { cache: 'strict' })(async (_parent, args: { id?: unknown }, ctx: GraphQLContext) => {
    if (!isUuid(args.id)) return true;
    const found = await loadPost(ctx, args.id.toLowerCase());
    if (!found || found.authorId === ctx.user?.id.toLowerCase()) return true;
    return new ForbiddenError(
      `Missing permission ${Permission.PostModerate}: ${own} allows this on your own posts only`,
      Permission.PostModerate,
    );
  });
}

/**
 * The post's author holding `own`, or a moderator. A post that does not exist is NOT_FOUND for
 * anyone who holds `own` or moderates (they could act on some post), and FORBIDDEN for anyone
 * else: an existing post is FORBIDDEN too for them, so the answer reveals nothing. That a post
 * exists is no secret anyway — anyone with blog.post.read can look it up.
 */
function ownPostOrModerator(own: Permission): ShieldRule {
  return or(and(permission(own), isAuthor(own)), permission(Permission.PostModerate));
}

const read = permission(Permission.PostRead);

/** Who may touch what: a field without a rule is denied. blog.post.read is public (module.yaml): the guest role may hold it. */
export const rules: IRules = {
  Query: {
    post: read,
    posts: read,
  },
  Mutation: {
    // The caller becomes the author.
    createPost: perCaller(permission(Permission.PostCreate)),
    updatePost: ownPostOrModerator(Permission.PostUpdate),
    deletePost: ownPostOrModerator(Permission.PostDelete),
  },
  // reference-only:start (the postCreated subscription)
  // Checked when subscribing and again for every post delivered.
  Subscription: {
    postCreated: read,
  },
  // reference-only:end
  Post: read,
  User: {
    // The key only: whether the user exists and who they are is identity's to say.
    id: publicAccess,
    posts: read, // reference-only: User.posts
  },
};
