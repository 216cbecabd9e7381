import { Directive, Field, ID, ObjectType } from 'type-graphql';

/**
 * Identity's `User`, to which blog contributes `posts`. Blog knows users only by their key, so
 * it resolves any reference itself (see user.reference.ts): that is what lets the router ask
 * blog for `posts` of a user another subgraph returned.
 */
@ObjectType('User')
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;
}

export const userOf = (id: string): User => Object.assign(new User(), { id });
