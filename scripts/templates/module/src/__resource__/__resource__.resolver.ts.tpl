import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { AuthenticationError, ConnectionType, pageOf, requireUuid, type Connection } from '@platform/kernel';
import type { __Name__Context } from '../context.js';
import { User, userOf } from '../user/user.type.js';
import { __Resource__ } from './__resource__.entity.js';
import { Create__Resource__Input, Update__Resource__Input } from './__resource__.inputs.js';
import { list__Resources__ } from './__resource__.queries.js';
import { load__Resource__ } from './__resource__.reference.js';

export const __Resource__Connection = ConnectionType(__Resource__, '__Resource__');

@Resolver(() => __Resource__)
export class __Resource__Resolver {
  @Query(() => __Resource__, { nullable: true, description: 'One __resource__ by id; null when there is none' })
  __resource__(@Arg('id', () => ID) id: string, @Ctx() ctx: __Name__Context): Promise<__Resource__ | null> {
    return load__Resource__(ctx, requireUuid(id));
  }

  @Query(() => __Resource__Connection, {
    description: "__Resources__, newest first; with `authorId`, only that author's",
  })
  __resources__(
    @Ctx() ctx: __Name__Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('authorId', () => ID, { nullable: true }) authorId?: string,
  ): Promise<Connection<__Resource__>> {
    const author = authorId ? requireUuid(authorId, 'authorId') : undefined;
    return list__Resources__(ctx.em, ctx.services.counts, pageOf({ first, after }), author);
  }

  @Mutation(() => __Resource__, { description: 'Publishes a __resource__ written by the caller' })
  create__Resource__(
    @Arg('input', () => Create__Resource__Input) input: Create__Resource__Input,
    @Ctx() ctx: __Name__Context,
  ): Promise<__Resource__> {
    if (!ctx.user) throw new AuthenticationError('Sign in to write __resources__');
    return ctx.services.__resources__.create(ctx.em, ctx.user.id.toLowerCase(), input);
  }

  @Mutation(() => __Resource__, {
    description: "Changes a __resource__'s title or content: its author's, or a moderator's",
  })
  update__Resource__(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => Update__Resource__Input) input: Update__Resource__Input,
    @Ctx() ctx: __Name__Context,
  ): Promise<__Resource__> {
    return ctx.services.__resources__.update(ctx.em, requireUuid(id), input);
  }

  @Mutation(() => Boolean, { description: "Deletes a __resource__: its author's, or a moderator's" })
  delete__Resource__(@Arg('id', () => ID) id: string, @Ctx() ctx: __Name__Context): Promise<boolean> {
    return ctx.services.__resources__.delete(ctx.em, requireUuid(id));
  }

  @FieldResolver(() => User, { description: 'Who wrote it (identity resolves the rest)' })
  author(@Root() written: __Resource__): User {
    return userOf(written.authorId);
  }
}
