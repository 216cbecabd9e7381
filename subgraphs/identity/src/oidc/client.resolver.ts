import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { AuthenticationError } from '@platform/kernel';
import type { IdentityContext } from '../context.js';
import { OAuthClient } from './client.entity.js';
import { CreatedOAuthClient, CreateOAuthClientInput, UpdateOAuthClientInput } from './client.types.js';

function actor(ctx: IdentityContext): string {
  if (!ctx.user) throw new AuthenticationError();
  return ctx.user.id;
}

/** Clients of the OpenID Connect provider; each operation has its permission (rules.ts). */
@Resolver()
export class OAuthClientResolver {
  @Query(() => [OAuthClient], { description: 'Clients of the OpenID Connect provider, newest first (at most 1000)' })
  oauthClients(@Ctx() ctx: IdentityContext): Promise<OAuthClient[]> {
    return ctx.services.oauthClients.list(ctx.em);
  }

  @Mutation(() => CreatedOAuthClient, {
    description: 'Registers a client of the OpenID Connect provider; its secret is shown this once',
  })
  async createOAuthClient(
    @Arg('input') input: CreateOAuthClientInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<CreatedOAuthClient> {
    const { client, secret } = await ctx.services.oauthClients.create(ctx.em, input, actor(ctx));
    return { clientId: client.clientId, clientSecret: secret };
  }

  @Mutation(() => OAuthClient, { description: "Changes a client's name, redirect URIs, grant types or scopes" })
  updateOAuthClient(
    @Arg('clientId') clientId: string,
    @Arg('input') input: UpdateOAuthClientInput,
    @Ctx() ctx: IdentityContext,
  ): Promise<OAuthClient> {
    return ctx.services.oauthClients.update(
      ctx.em,
      clientId,
      {
        name: input.name ?? undefined,
        redirectUris: input.redirectUris ?? undefined,
        grantTypes: input.grantTypes ?? undefined,
        scopes: input.scopes ?? undefined,
      },
      actor(ctx),
    );
  }

  @Mutation(() => CreatedOAuthClient, {
    description: "Replaces a confidential client's secret (the old one stops working)",
  })
  async rotateOAuthClientSecret(
    @Arg('clientId') clientId: string,
    @Ctx() ctx: IdentityContext,
  ): Promise<CreatedOAuthClient> {
    const secret = await ctx.services.oauthClients.rotateSecret(ctx.em, clientId, actor(ctx));
    return { clientId, clientSecret: secret };
  }

  @Mutation(() => Boolean, { description: 'Deletes a client: it can no longer sign users in or refresh tokens' })
  deleteOAuthClient(@Arg('clientId') clientId: string, @Ctx() ctx: IdentityContext): Promise<boolean> {
    return ctx.services.oauthClients.delete(ctx.em, clientId, actor(ctx));
  }
}
