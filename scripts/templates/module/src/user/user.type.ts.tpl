import { Directive, Field, ID, ObjectType } from 'type-graphql';

/**
 * identity's `User`, known here by its id only (`resolvable: false`): the router asks identity
 * for every other field, so this module needs no reference resolver for it.
 */
@ObjectType('User')
@Directive('@key(fields: "id", resolvable: false)')
export class User {
  @Field(() => ID)
  id!: string;
}

export const userOf = (id: string): User => Object.assign(new User(), { id });
