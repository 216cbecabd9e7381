import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** Identity's `User`, known here only by id; identity resolves the rest. */
@ObjectType('User')
@Directive('@key(fields: "id", resolvable: false)')
export class UserRef {
  @Field(() => ID)
  id!: string;
}

export const userRef = (id: string): UserRef & { __typename: 'User' } => ({ __typename: 'User', id });
