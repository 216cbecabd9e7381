import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { AuthenticationError, ForbiddenError, NotFoundError, requireUuid } from '@platform/kernel';
import type { IdentityContext } from '../context.js';
import { Permission } from '../permissions.generated.js';
import { User } from '../user/user.entity.js';
import { ApiKey } from './api-key.entity.js';
import { CreateApiKeyInput, CreatedApiKey, CreateServiceAccountInput } from './api-key.types.js';

/** The signed-in caller acting as themself: API keys do not manage keys (a leaked key must not outlive its revocation by minting others). */
function personalCaller(ctx: IdentityContext): { id: string } {
  if (!ctx.user) throw new AuthenticationError();
  if (ctx.user.apiKeyId) throw new ForbiddenError('API keys cannot manage API keys or service accounts');
  return ctx.user;
}

/**
 * The delegation rule: nobody hands a key a permission they do not hold themself. Checked with
 * the caller's permissions as every check sees them; at use the key is limited again to what its
 * owner holds then.
 */
async function requireHeld(ctx: IdentityContext, permissions: readonly string[]): Promise<void> {
  for (const permission of [...new Set(permissions)].sort()) {
    if (await ctx.can(permission)) continue;
    const error = new ForbiddenError(
      `Missing permission ${permission}: you can give an API key only permissions you hold yourself`,
      permission,
    );
    error.extensions.reason = 'delegation';
    throw error;
  }
}

/** API keys (`createApiKey`, `apiKeys`, `revokeApiKey`) and service accounts. */
@Resolver()
export class ApiKeyResolver {
  @Mutation(() => CreatedApiKey, {
    description:
      'Makes an API key acting with at most `permissions` (each one the caller holds) for the caller, or for a service account. The key is shown once.',
  })
  async createApiKey(@Arg('input') input: CreateApiKeyInput, @Ctx() ctx: IdentityContext): Promise<CreatedApiKey> {
    const caller = personalCaller(ctx);
    const ownerId = input.ownerId ? requireUuid(input.ownerId, 'ownerId') : caller.id;
    if (ownerId !== caller.id.toLowerCase()) {
      // Only for service accounts: a key for another person would let its creator act as them.
      if (!(await ctx.can(Permission.ApikeyCreate))) {
        throw new ForbiddenError(`Missing permission ${Permission.ApikeyCreate}`, Permission.ApikeyCreate);
      }
      const owner = await ctx.em.findOne(User, { id: ownerId, deletedAt: null });
      if (!owner?.serviceAccount) throw new NotFoundError('Service account', ownerId);
    }
    await requireHeld(ctx, input.permissions);
    const { apiKey, key } = await ctx.services.apiKeys.create(ctx.em, {
      name: input.name,
      permissions: input.permissions,
      expiresAt: input.expiresAt ?? null,
      ownerId,
      createdBy: caller.id,
      // A key for oneself acts in the organization its creator acts in (docs/tenancy.md); service
      // accounts belong to none, so their keys neither.
      organizationId: ownerId === caller.id.toLowerCase() ? (ctx.user?.organizationId ?? null) : null,
    });
    return {
      id: apiKey.id,
      key,
      prefix: apiKey.prefix,
      name: apiKey.name,
      permissions: apiKey.permissions,
      expiresAt: apiKey.expiresAt ?? null,
      ownerId: apiKey.ownerId,
      organizationId: apiKey.organizationId ?? null,
    };
  }

  @Query(() => [ApiKey], {
    description:
      "The caller's API keys; another owner's (`ownerId`) or everyone's (`all`) with identity.apikey.read. Newest first, at most 1000.",
  })
  async apiKeys(
    @Ctx() ctx: IdentityContext,
    @Arg('ownerId', () => ID, { nullable: true }) ownerId?: string | null,
    @Arg('all', () => Boolean, { defaultValue: false }) all?: boolean,
    @Arg('includeRevoked', () => Boolean, { defaultValue: false }) includeRevoked?: boolean,
  ): Promise<ApiKey[]> {
    if (!ctx.user) throw new AuthenticationError();
    const owner = ownerId ? requireUuid(ownerId, 'ownerId') : all ? undefined : ctx.user.id.toLowerCase();
    if (owner !== ctx.user.id.toLowerCase() && !(await ctx.can(Permission.ApikeyRead))) {
      throw new ForbiddenError(`Missing permission ${Permission.ApikeyRead}`, Permission.ApikeyRead);
    }
    return ctx.services.apiKeys.list(ctx.em, owner, includeRevoked ?? false);
  }

  @Mutation(() => ApiKey, {
    description:
      "Revokes one of the caller's API keys, or anyone's with identity.apikey.revoke; it stops working at once",
  })
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: IdentityContext): Promise<ApiKey> {
    if (!ctx.user) throw new AuthenticationError();
    const apiKey = await ctx.services.apiKeys.findById(ctx.em, requireUuid(id, 'id'));
    const own = apiKey?.ownerId === ctx.user.id.toLowerCase() || apiKey?.createdBy === ctx.user.id.toLowerCase();
    // Someone else's key is reported as missing to those who may not revoke it.
    if (!apiKey || (!own && !(await ctx.can(Permission.ApikeyRevoke)))) throw new NotFoundError('API key', id);
    return ctx.services.apiKeys.revoke(ctx.em, apiKey, 'revoked');
  }

  @Mutation(() => User, {
    description: 'Makes a service account: a user without a password that only API keys act for',
  })
  createServiceAccount(@Arg('input') input: CreateServiceAccountInput, @Ctx() ctx: IdentityContext): Promise<User> {
    personalCaller(ctx);
    return ctx.services.apiKeys.createServiceAccount(ctx.em, input.name);
  }
}
