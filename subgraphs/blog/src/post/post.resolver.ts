import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { ConnectionType, requireUuid, type GraphQLContext } from '@platform/kernel';
import { Post } from './post.entity.js';
import { listPosts } from './post.service.js';
import { loadPost } from './post.reference.js';
import { UserRef, userRef } from '../user/user.stub.js';

export const PostConnection = ConnectionType(Post, 'Post');

@Resolver(() => Post)
export class PostResolver {
  @Query(() => Post, { nullable: true, description: 'One post by id' })
  post(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Post | null> {
    return loadPost(ctx, requireUuid(id));
  }

  @Query(() => PostConnection, { description: 'Posts, newest first' })
  posts(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('authorId', () => ID, { nullable: true }) authorId?: string,
  ) {
    return listPosts(ctx.em, { first, after, authorId: authorId ? requireUuid(authorId, 'authorId') : null });
  }

  @FieldResolver(() => UserRef, { description: 'Who wrote it (resolved by identity)' })
  author(@Root() post: Post): UserRef {
    return userRef(post.authorId);
  }
}
