import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { AuthenticationError, ConnectionType, pageOf, requireUuid, type Connection } from '@platform/kernel';
import type { __Name__Context } from '../context.js';
import { UserRef } from '../user/user.stub.js';
import { __Resource__ } from './__resource__.entity.js';
import { Create__Resource__Input, Update__Resource__Input } from './__resource__.inputs.js';
import { list__Resources__ } from './__resource__.queries.js';
import { load__Resource__ } from './__resource__.reference.js';

const __Resource__Connection = ConnectionType(__Resource__, '__Resource__');

/** Checks arguments and calls the service; who may call what is decided in rules.ts. */
@Resolver(() => __Resource__)
export class __Resource__Resolver {
  @Query(() => __Resource__, { nullable: true, description: 'One __resource__ by id; null when there is none' })
  __resource__(@Arg('id', () => ID) id: string, @Ctx() ctx: __Name__Context): Promise<__Resource__ | null> {
    return load__Resource__(ctx, requireUuid(id));
  }

  @Query(() => __Resource__Connection, { description: '__Resources__, newest first' })
  __resources__(
    @Ctx() ctx: __Name__Context,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<Connection<__Resource__>> {
    return list__Resources__(ctx.em, pageOf({ first, after }));
  }

  @Mutation(() => __Resource__, { description: 'Writes a __resource__ by the caller' })
  create__Resource__(
    @Arg('input', () => Create__Resource__Input) input: Create__Resource__Input,
    @Ctx() ctx: __Name__Context,
  ): Promise<__Resource__> {
    if (!ctx.user) throw new AuthenticationError('Sign in to write __resources__');
    return ctx.services.__resources__.create(ctx.em, ctx.user.id.toLowerCase(), input);
  }

  @Mutation(() => __Resource__, { description: "Changes a __resource__: its author's, or as a manager" })
  update__Resource__(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => Update__Resource__Input) input: Update__Resource__Input,
    @Ctx() ctx: __Name__Context,
  ): Promise<__Resource__> {
    return ctx.services.__resources__.update(ctx.em, requireUuid(id), input);
  }

  @Mutation(() => Boolean, { description: "Deletes a __resource__: its author's, or as a manager" })
  delete__Resource__(@Arg('id', () => ID) id: string, @Ctx() ctx: __Name__Context): Promise<boolean> {
    return ctx.services.__resources__.delete(ctx.em, requireUuid(id));
  }

  @FieldResolver(() => UserRef, { description: 'Who wrote it (identity resolves the rest)' })
  author(@Root() written: __Resource__): UserRef {
    return { id: written.authorId };
  }
}
