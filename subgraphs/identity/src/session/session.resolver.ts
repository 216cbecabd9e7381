import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { AuthenticationError, requireUuid } from '@platform/kernel';
import { AuthPayload } from '../account/account.types.js';
import type { IdentityContext } from '../context.js';
import { Session } from './session.entity.js';
import { requestClient } from './session.service.js';
import { actAs } from '../rules.js';

/** Login, token refresh, logout and the caller's sessions. */
@Resolver()
export class SessionResolver {
  @Mutation(() => AuthPayload, { description: 'Signs in: an access token and a refresh token' })
  async login(
    @Arg('email') email: string,
    @Arg('password') password: string,
    @Ctx() ctx: IdentityContext,
    @Arg('totp', () => String, {
      nullable: true,
      description: 'With two-factor sign-in: a code from the authenticator app, or a recovery code',
    })
    totp?: string | null,
    @Arg('organizationId', () => ID, {
      nullable: true,
      description: 'The organization to be active in (the caller must be a member); none when left out',
    })
    organizationId?: string | null,
  ): Promise<AuthPayload> {
    const result = await ctx.services.sessions.login(ctx.em, email, password, requestClient(), {
      secondFactor: totp,
      organizationId,
    });
    actAs(ctx, result.user.id);
    return result;
  }

  @Mutation(() => AuthPayload, {
    description: 'Trades a refresh token for a new pair; a token used twice ends its session',
  })
  async refreshToken(@Arg('refreshToken') refreshToken: string, @Ctx() ctx: IdentityContext): Promise<AuthPayload> {
    const result = await ctx.services.sessions.refresh(ctx.em, refreshToken);
    actAs(ctx, result.user.id);
    return result;
  }

  @Mutation(() => Boolean, { description: "Ends the refresh token's session, or the caller's current one" })
  logout(
    @Ctx() ctx: IdentityContext,
    @Arg('refreshToken', () => String, { nullable: true }) refreshToken?: string | null,
  ): Promise<boolean> {
    return ctx.services.sessions.logout(ctx.em, {
      refreshToken,
      userId: ctx.user?.id,
      sessionId: refreshToken ? undefined : ctx.user?.sessionId,
    });
  }

  @Query(() => [Session], { description: "The caller's signed-in devices" })
  sessions(@Ctx() ctx: IdentityContext): Promise<Session[]> {
    if (!ctx.user) throw new AuthenticationError();
    return ctx.services.sessions.list(ctx.em, ctx.user.id, ctx.user.sessionId);
  }

  @Mutation(() => Boolean, { description: 'Signs one of the caller’s sessions out' })
  revokeSession(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    if (!ctx.user) throw new AuthenticationError();
    return ctx.services.sessions.revokeOwn(ctx.em, ctx.user.id, requireUuid(id));
  }
}
