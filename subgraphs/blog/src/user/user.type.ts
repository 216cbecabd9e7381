import { Directive, Field, ID, ObjectType } from 'type-graphql';

// reference-only:start (blog resolves User, for User.posts; a new module only points at identity's)
/**
 * Identity's `User`, to which blog contributes `posts`. Blog knows users only by their key, so
 * it resolves any reference itself (see user.reference.ts): that is what lets the router ask
 * blog for `posts` of a user another subgraph returned.
 */
@ObjectType('User')
@Directive('@key(fields: "id")')
// template: /**
// template:  * identity's `User`, known here by its id only (`resolvable: false`): the router asks identity
// template:  * for every other field, so this module needs no reference resolver for it.
// template:  */
// template: @ObjectType('User')
// template: @Directive('@key(fields: "id", resolvable: false)')
// reference-only:end
export class User {
  @Field(() => ID)
  id!: string;
}

export const userOf = (id: string): User => Object.assign(new User(), { id });
