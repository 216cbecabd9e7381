import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { AuthenticationError, ConnectionType, requireUuid } from '@platform/kernel';
import { UpdateProfileInput, UpdateUserInput } from '../account/account.types.js';
import type { IdentityContext } from '../context.js';
import { canSeeAccount } from '../rules.js';
import { User } from './user.entity.js';
import { loadUser } from './user.reference.js';
import { cleanDisplayName, cleanLocale, listUsers } from './user.service.js';

export const UserConnection = ConnectionType(User, 'User');

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, {
    nullable: true,
    description: 'One user by id; null when unknown, deleted, or unverified and not visible to the caller',
  })
  async user(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<User | null> {
    const user = await loadUser(ctx, requireUuid(id));
    return user && !user.deletedAt && (await canSeeAccount(ctx, user)) ? user : null;
  }

  @Query(() => User, { nullable: true, description: 'The signed-in caller; null when anonymous' })
  async me(@Ctx() ctx: IdentityContext): Promise<User | null> {
    if (!ctx.user) return null;
    const user = await loadUser(ctx, ctx.user.id.toLowerCase());
    return user && !user.deletedAt ? user : null;
  }

  @Query(() => UserConnection, { description: 'Accounts, newest first; search matches email and display name' })
  users(
    @Ctx() ctx: IdentityContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('search', () => String, { nullable: true }) search?: string,
  ) {
    return listUsers(ctx.em, { first, after, search });
  }

  @Mutation(() => User, { description: "Edits the caller's own profile" })
  async updateProfile(
    @Arg('input', () => UpdateProfileInput) input: UpdateProfileInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<User> {
    if (!ctx.user) throw new AuthenticationError();
    const { avatarUploadId, ...profile } = input;
    // Checked before anything changes, so a refused name leaves the avatar as it was.
    if (profile.displayName !== undefined) cleanDisplayName(profile.displayName);
    if (profile.locale !== undefined) cleanLocale(profile.locale);
    if (avatarUploadId) await ctx.services.uploads.attachAvatar(ctx.em, ctx.user.id.toLowerCase(), avatarUploadId);
    return ctx.services.accounts.updateProfile(ctx.em, ctx.user.id, profile);
  }

  @Mutation(() => User, { description: "Edits anyone's account (administrators)" })
  updateUser(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateUserInput) input: UpdateUserInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<User> {
    return ctx.services.accounts.updateUser(ctx.em, requireUuid(id), input);
  }

  @Mutation(() => Boolean, { description: 'Deletes an account and signs it out everywhere (administrators)' })
  deleteUser(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    return ctx.services.accounts.deleteUser(ctx.em, requireUuid(id));
  }
}
