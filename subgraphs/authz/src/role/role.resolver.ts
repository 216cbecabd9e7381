import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { ConnectionType, requireUuid } from '@platform/kernel';
import { delegatorOf, type AuthzContext } from '../context.js';
import { Role } from './role.entity.js';
import { listRoles } from './role.service.js';
import { loadRole } from './role.reference.js';
import { CreateRoleInput, Permission, UpdateRoleInput } from './role.types.js';

export const RoleConnection = ConnectionType(Role, 'Role');

@Resolver(() => Role)
export class RoleResolver {
  @Query(() => Role, { nullable: true, description: 'One role by id' })
  role(@Arg('id', () => ID) id: string, @Ctx() ctx: AuthzContext): Promise<Role | null> {
    return loadRole(ctx, requireUuid(id));
  }

  @Query(() => RoleConnection, {
    description:
      "Roles, newest first: the global ones and those of the caller's active organization, or of `organizationId` (acting in it, or reading roles globally)",
  })
  async roles(
    @Ctx() ctx: AuthzContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('organizationId', () => ID, { nullable: true }) organizationId?: string | null,
  ) {
    const scope = organizationId ? requireUuid(organizationId, 'organizationId') : (ctx.user?.organizationId ?? null);
    // Another organization's roles are for those who read roles globally.
    await ctx.services.delegation.requireVisible(ctx.em, delegatorOf(ctx), { id: scope ?? '', organizationId: scope });
    return listRoles(ctx.em, { first, after, organizationId: scope });
  }

  @Query(() => [Permission], { description: "Every permission the platform's modules declare, by name" })
  permissions(@Ctx() ctx: AuthzContext): Permission[] {
    return ctx.services.catalogue.list();
  }

  @FieldResolver(() => [String], {
    name: 'permissions',
    description: 'What it grants, sorted; for admin, every permission there is',
  })
  grants(@Root() role: Role, @Ctx() ctx: AuthzContext): Promise<string[]> {
    return ctx
      .loader<Role, string[]>('Role.permissions', (roles) => ctx.services.roles.permissionsOf(ctx.em, roles))
      .load(role);
  }

  @Mutation(() => Role, { description: 'Creates a role, optionally with permissions' })
  createRole(@Arg('input', () => CreateRoleInput) input: CreateRoleInput, @Ctx() ctx: AuthzContext): Promise<Role> {
    return ctx.services.roles.create(ctx.em, input, delegatorOf(ctx));
  }

  @Mutation(() => Role, { description: 'Renames a role or changes its description' })
  updateRole(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateRoleInput) input: UpdateRoleInput,
    @Ctx() ctx: AuthzContext,
  ): Promise<Role> {
    return ctx.services.roles.update(ctx.em, requireUuid(id), input, delegatorOf(ctx));
  }

  @Mutation(() => Boolean, { description: 'Deletes a role and takes it from everyone; built-in roles stay' })
  deleteRole(@Arg('id', () => ID) id: string, @Ctx() ctx: AuthzContext): Promise<boolean> {
    return ctx.services.roles.delete(ctx.em, requireUuid(id), delegatorOf(ctx));
  }

  @Mutation(() => Role, { description: 'Adds permissions to a role (those it has stay as they are)' })
  grantPermissions(
    @Arg('roleId', () => ID) roleId: string,
    @Arg('permissions', () => [String]) permissions: string[],
    @Ctx() ctx: AuthzContext,
  ): Promise<Role> {
    return ctx.services.roles.grant(ctx.em, requireUuid(roleId, 'roleId'), permissions, delegatorOf(ctx));
  }

  @Mutation(() => Role, { description: 'Takes one permission from a role' })
  revokePermission(
    @Arg('roleId', () => ID) roleId: string,
    @Arg('permission', () => String) permission: string,
    @Ctx() ctx: AuthzContext,
  ): Promise<Role> {
    return ctx.services.roles.revoke(ctx.em, requireUuid(roleId, 'roleId'), permission, delegatorOf(ctx));
  }
}
