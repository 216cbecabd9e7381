import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { pageOf, type Connection } from '@platform/kernel';
import type { BlogContext } from '../context.js';
import type { Post } from '../post/post.entity.js';
import { PostConnection } from '../post/post.resolver.js';
import { pagesByAuthor } from './user.queries.js';
import { User } from './user.type.js';

@Resolver(() => User)
export class UserPostsResolver {
  @FieldResolver(() => PostConnection, { description: 'Their posts, newest first' })
  posts(
    @Root() user: User,
    @Ctx() ctx: BlogContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<Connection<Post>> {
    const page = pageOf({ first, after });
    // One loader per page asked for: every user's `posts` with the same arguments is one batch.
    return ctx
      .loader<string, Connection<Post>>(`User.posts:${page.size}:${after ?? ''}`, (ids) =>
        pagesByAuthor(ctx.em, ids, page),
      )
      .load(user.id);
  }
}
