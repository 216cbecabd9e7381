import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { AuthenticationError, ConnectionType, pageOf, requireUuid, type Connection } from '@platform/kernel';
import type { BlogContext } from '../context.js';
import { User, userOf } from '../user/user.type.js';
import { Post } from './post.entity.js';
import { CreatePostInput, UpdatePostInput } from './post.inputs.js';
import { listPosts } from './post.queries.js';
import { loadPost } from './post.reference.js';

export const PostConnection = ConnectionType(Post, 'Post');

@Resolver(() => Post)
export class PostResolver {
  @Query(() => Post, { nullable: true, description: 'One post by id; null when there is none' })
  post(@Arg('id', () => ID) id: string, @Ctx() ctx: BlogContext): Promise<Post | null> {
    return loadPost(ctx, requireUuid(id));
  }

  @Query(() => PostConnection, { description: "Posts, newest first; with `authorId`, only that author's" })
  posts(
    @Ctx() ctx: BlogContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('authorId', () => ID, { nullable: true }) authorId?: string,
  ): Promise<Connection<Post>> {
    const author = authorId ? requireUuid(authorId, 'authorId') : undefined;
    return listPosts(ctx.em, ctx.services.counts, pageOf({ first, after }), author);
  }

  @Mutation(() => Post, { description: 'Publishes a post written by the caller' })
  createPost(@Arg('input', () => CreatePostInput) input: CreatePostInput, @Ctx() ctx: BlogContext): Promise<Post> {
    if (!ctx.user) throw new AuthenticationError('Sign in to write posts');
    return ctx.services.posts.create(ctx.em, ctx.user.id.toLowerCase(), input);
  }

  @Mutation(() => Post, { description: "Changes a post's title or content: its author's, or a moderator's" })
  updatePost(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdatePostInput) input: UpdatePostInput,
    @Ctx() ctx: BlogContext,
  ): Promise<Post> {
    return ctx.services.posts.update(ctx.em, requireUuid(id), input);
  }

  @Mutation(() => Boolean, { description: "Deletes a post: its author's, or a moderator's" })
  deletePost(@Arg('id', () => ID) id: string, @Ctx() ctx: BlogContext): Promise<boolean> {
    return ctx.services.posts.delete(ctx.em, requireUuid(id));
  }

  @FieldResolver(() => User, { description: 'Who wrote it (identity resolves the rest)' })
  author(@Root() written: Post): User {
    return userOf(written.authorId);
  }
}
