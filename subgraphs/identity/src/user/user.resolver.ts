import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { requireUuid, type GraphQLContext } from '@platform/kernel';
import { User } from './user.entity.js';
import { loadUser } from './user.reference.js';

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { nullable: true, description: 'One user by id' })
  user(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<User | null> {
    return loadUser(ctx, requireUuid(id));
  }

  @Query(() => User, { nullable: true, description: 'The signed-in caller; null when anonymous' })
  async me(@Ctx() ctx: GraphQLContext): Promise<User | null> {
    return ctx.user ? loadUser(ctx, ctx.user.id.toLowerCase()) : null;
  }
}
