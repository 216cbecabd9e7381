import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { ConnectionType, requireUuid, type GraphQLContext } from '@platform/kernel';
import { Role } from './role.entity.js';
import { listRoles } from './role.service.js';
import { loadRole } from './role.reference.js';

export const RoleConnection = ConnectionType(Role, 'Role');

@Resolver(() => Role)
export class RoleResolver {
  @Query(() => Role, { nullable: true, description: 'One role by id' })
  role(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Role | null> {
    return loadRole(ctx, requireUuid(id));
  }

  @Query(() => RoleConnection, { description: 'Roles, newest first' })
  roles(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return listRoles(ctx.em, { first, after });
  }
}
