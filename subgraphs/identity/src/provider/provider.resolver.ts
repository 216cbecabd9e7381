import { Arg, Ctx, Field, ID, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import { requestClient } from '../session/session.service.js';
import { AuthPayload } from '../account/account.types.js';
import type { IdentityContext } from '../context.js';
import { actAs } from '../rules.js';

@ObjectType({ description: 'An external OpenID Connect provider users may sign in with' })
export class SignInProvider {
  @Field(() => ID, { description: 'What `signInWithProvider(provider:)` takes' })
  id!: string;

  @Field({ description: 'Its name, for a "Sign in with …" button' })
  name!: string;
}

@ObjectType({ description: 'A sign-in with a provider, started: send the browser to `authorizationUrl`' })
export class ProviderSignInStart {
  @Field({ description: "The provider's sign-in page, for this sign-in" })
  authorizationUrl!: string;

  @Field({
    description:
      'Keep it in the client that started the sign-in (session storage): `completeProviderSignIn` needs it with the code the return URL brings',
  })
  binding!: string;

  @Field(() => Date, { description: 'The sign-in must be completed before then (ten minutes)' })
  expiresAt!: Date;
}

/** Signing in with an external provider (docs/identity.md#sign-in-with-an-external-provider). */
@Resolver()
export class ProviderSignInResolver {
  @Query(() => [SignInProvider], { description: 'The external providers users may sign in with' })
  signInProviders(@Ctx() ctx: IdentityContext): SignInProvider[] {
    return ctx.services.providerSignIns.list();
  }

  @Mutation(() => ProviderSignInStart, {
    description:
      'Starts a sign-in with an external provider; the browser comes back to `returnTo` with `sign_in_code` (or `sign_in_error`)',
  })
  signInWithProvider(
    @Arg('provider', () => ID) provider: string,
    @Arg('returnTo', { description: "A URL on the app's origin (or one of providerReturnOrigins)" }) returnTo: string,
    @Ctx() ctx: IdentityContext,
  ): Promise<ProviderSignInStart> {
    return ctx.services.providerSignIns.start(ctx.em, provider, returnTo);
  }

  @Mutation(() => AuthPayload, {
    description:
      'Completes a sign-in with a provider: tokens, as `login` gives (MFA_REQUIRED without `totp` for an account with two-factor sign-in)',
  })
  async completeProviderSignIn(
    @Arg('binding', { description: "`signInWithProvider`'s binding" }) binding: string,
    @Arg('code', { description: 'The `sign_in_code` the return URL brought' }) code: string,
    @Ctx() ctx: IdentityContext,
    @Arg('totp', () => String, {
      nullable: true,
      description: 'With two-factor sign-in: a code from the authenticator app, or a recovery code',
    })
    totp?: string | null,
  ): Promise<AuthPayload> {
    const result = await ctx.services.providerSignIns.complete(ctx.em, binding, code, requestClient(), totp);
    actAs(ctx, result.user.id);
    return result;
  }
}
