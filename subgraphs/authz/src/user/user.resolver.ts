import { Arg, Ctx, FieldResolver, ID, Mutation, Resolver, Root } from 'type-graphql';
import { requireUuid } from '@platform/kernel';
import { delegatorOf, type AuthzContext } from '../context.js';
import { Role } from '../role/role.entity.js';
import { User, userOf } from './user.type.js';

@Resolver(() => User)
export class UserRolesResolver {
  @FieldResolver(() => [Role], {
    description: "The roles the user holds, by name: global ones and those of the caller's active organization",
  })
  roles(@Root() user: User, @Ctx() ctx: AuthzContext): Promise<Role[]> {
    const organizationId = ctx.user?.organizationId ?? null;
    return ctx
      .loader<string, Role[]>('User.roles', (ids) => ctx.services.assignments.rolesOf(ctx.em, ids, organizationId))
      .load(user.id);
  }

  @FieldResolver(() => [String], {
    description:
      "Everything the user may do: their roles' grants and the guest role's, in the caller's active organization, sorted",
  })
  async permissions(@Root() user: User, @Ctx() ctx: AuthzContext): Promise<string[]> {
    const organizationId = ctx.user?.organizationId ?? null;
    const effective = await ctx
      .loader<string, Awaited<ReturnType<AuthzContext['services']['effective']['of']>>>('User.permissions', (ids) =>
        ctx.services.effective.ofMany(
          ctx.em,
          ids.map((userId) => ({ userId, organizationId })),
        ),
      )
      .load(user.id);
    return [...effective.permissions].sort();
  }

  @Mutation(() => User, { description: 'Gives a role to a user (a no-op when they hold it)' })
  assignRole(
    @Arg('userId', () => ID) userId: string,
    @Arg('roleId', () => ID) roleId: string,
    @Ctx() ctx: AuthzContext,
  ): Promise<User> {
    return this.#change(ctx, userId, roleId, (id, role) =>
      ctx.services.assignments.assignRole(ctx.em, id, role, delegatorOf(ctx)),
    );
  }

  @Mutation(() => User, { description: 'Takes a role from a user (a no-op when they do not hold it)' })
  unassignRole(
    @Arg('userId', () => ID) userId: string,
    @Arg('roleId', () => ID) roleId: string,
    @Ctx() ctx: AuthzContext,
  ): Promise<User> {
    return this.#change(ctx, userId, roleId, (id, role) =>
      ctx.services.assignments.unassignRole(ctx.em, id, role, delegatorOf(ctx)),
    );
  }

  /** Checks both ids and that authz knows the user, then applies `change`. */
  async #change(
    ctx: AuthzContext,
    userId: string,
    roleId: string,
    change: (userId: string, roleId: string) => Promise<boolean>,
  ): Promise<User> {
    const id = await ctx.services.assignments.requireKnownUser(ctx.em, requireUuid(userId, 'userId'));
    await change(id, requireUuid(roleId, 'roleId'));
    return userOf(id);
  }
}
