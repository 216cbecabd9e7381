import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { AuthenticationError } from '@platform/kernel';
import type { IdentityContext } from '../context.js';
import { User } from '../user/user.entity.js';
import { CreateUploadInput, UploadTicket } from './upload.types.js';

@Resolver(() => User)
export class UploadResolver {
  @Mutation(() => UploadTicket, {
    description: 'An upload URL for a file the caller declares (an avatar); send the bytes there, then attach it',
  })
  createUpload(
    @Arg('input', () => CreateUploadInput) input: CreateUploadInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<UploadTicket> {
    if (!ctx.user) throw new AuthenticationError();
    return ctx.services.uploads.createUpload(ctx.em, ctx.user.id.toLowerCase(), input);
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'A short-lived signed URL of the avatar image; null without one',
  })
  avatarUrl(@Root() user: User, @Ctx() ctx: IdentityContext): Promise<string | null> {
    return ctx.services.uploads.avatarUrl(user);
  }
}
