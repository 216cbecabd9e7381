import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { AuthenticationError } from '@platform/kernel';
import type { IdentityContext } from '../context.js';
import { User } from '../user/user.entity.js';
import { RegisterInput } from './account.types.js';
import { actAs } from '../rules.js';

/** Sign-up, email verification and passwords. */
@Resolver()
export class AccountResolver {
  @Mutation(() => User, { description: 'Creates an account and sends a verification email' })
  async register(@Arg('input', () => RegisterInput) input: RegisterInput, @Ctx() ctx: IdentityContext): Promise<User> {
    const user = await ctx.services.accounts.register(ctx.em, input);
    actAs(ctx, user.id);
    return user;
  }

  @Mutation(() => User, { description: 'Confirms an email address with the token from the verification email' })
  async verifyEmail(@Arg('token') token: string, @Ctx() ctx: IdentityContext): Promise<User> {
    const user = await ctx.services.accounts.verifyEmail(ctx.em, token);
    actAs(ctx, user.id);
    return user;
  }

  @Mutation(() => Boolean, { description: 'Sends a new verification link; true whether or not the account exists' })
  resendVerificationEmail(@Arg('email') email: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    return ctx.services.accounts.resendVerificationEmail(ctx.em, email);
  }

  @Mutation(() => Boolean, { description: 'Emails a reset link; true whether or not the account exists' })
  requestPasswordReset(@Arg('email') email: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    return ctx.services.accounts.requestPasswordReset(ctx.em, email);
  }

  @Mutation(() => Boolean, { description: 'Sets a new password with a reset token; signs out every session' })
  resetPassword(
    @Arg('token') token: string,
    @Arg('newPassword') newPassword: string,
    @Ctx() ctx: IdentityContext,
  ): Promise<boolean> {
    return ctx.services.accounts.resetPassword(ctx.em, token, newPassword);
  }

  @Mutation(() => Boolean, { description: "Changes the caller's password; signs out their other sessions" })
  changePassword(
    @Arg('currentPassword') currentPassword: string,
    @Arg('newPassword') newPassword: string,
    @Ctx() ctx: IdentityContext,
  ): Promise<boolean> {
    if (!ctx.user) throw new AuthenticationError();
    return ctx.services.accounts.changePassword(ctx.em, ctx.user, currentPassword, newPassword);
  }
}
