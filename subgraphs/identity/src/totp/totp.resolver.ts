import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { AuthenticationError, currentRequest, requireUuid } from '@platform/kernel';
import type { IdentityContext } from '../context.js';
import { User } from '../user/user.entity.js';
import type { TotpUser } from './totp.service.js';
import { RecoveryCodes, TotpEnrollment } from './totp.types.js';
import { secondFactorEnabledOf } from './verify.js';

/** The signed-in caller's account, with the email authenticator apps label it by. */
async function caller(ctx: IdentityContext): Promise<TotpUser> {
  if (!ctx.user) throw new AuthenticationError();
  const user = await ctx.em.findOne(User, { id: ctx.user.id.toLowerCase(), deletedAt: null });
  if (!user) throw new AuthenticationError();
  return { id: user.id, email: user.email };
}

const client = () => ({ ip: currentRequest()?.ip });

/** Two-factor sign-in with an authenticator app (TOTP): the caller's own. */
@Resolver(() => User)
export class TotpResolver {
  @Mutation(() => TotpEnrollment, {
    description:
      'Starts two-factor sign-in: a new secret for an authenticator app, active once `confirmTotp` accepts a code',
  })
  async enrollTotp(@Ctx() ctx: IdentityContext): Promise<TotpEnrollment> {
    return ctx.services.totp.enroll(ctx.em, await caller(ctx));
  }

  @Mutation(() => RecoveryCodes, {
    description: 'Turns two-factor sign-in on with a code from the app; returns ten recovery codes, shown once',
  })
  async confirmTotp(@Arg('code') code: string, @Ctx() ctx: IdentityContext): Promise<RecoveryCodes> {
    return { recoveryCodes: await ctx.services.totp.confirm(ctx.em, await caller(ctx), code, client()) };
  }

  @Mutation(() => Boolean, { description: 'Turns two-factor sign-in off, with a code from the app or a recovery code' })
  async disableTotp(@Arg('code') code: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    return ctx.services.totp.disable(ctx.em, await caller(ctx), code, client());
  }

  @Mutation(() => RecoveryCodes, {
    description: 'Replaces the recovery codes with ten new ones, with a code from the app or a recovery code',
  })
  async regenerateRecoveryCodes(@Arg('code') code: string, @Ctx() ctx: IdentityContext): Promise<RecoveryCodes> {
    return {
      recoveryCodes: await ctx.services.totp.regenerateRecoveryCodes(ctx.em, await caller(ctx), code, client()),
    };
  }

  @Mutation(() => Boolean, {
    description:
      "Turns a user's two-factor sign-in off when they lost their authenticator and recovery codes (administrators)",
  })
  disableUserTotp(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    if (!ctx.user) throw new AuthenticationError();
    return ctx.services.totp.disableFor(ctx.em, requireUuid(id), ctx.user.id);
  }

  @FieldResolver(() => Boolean, { description: 'Signing in asks for a second factor (visible to the user themself)' })
  totpEnabled(@Root() user: User, @Ctx() ctx: IdentityContext): Promise<boolean> {
    // One query for every user of the answer (`users { totpEnabled }`).
    return ctx.loader<string, boolean>('User.totpEnabled', (ids) => secondFactorEnabledOf(ctx.em, ids)).load(user.id);
  }
}
