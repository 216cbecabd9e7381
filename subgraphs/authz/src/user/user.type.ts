import { Directive, Field, ID, ObjectType } from 'type-graphql';

/**
 * Identity's `User`, to which authz contributes `roles` and `permissions`. authz knows users
 * only by id, so resolving a reference is just keeping the id.
 */
@ObjectType('User')
@Directive('@key(fields: "id")')
export class User {
  @Field(() => ID)
  id!: string;
}

export const userOf = (id: string): User => Object.assign(new User(), { id });

/** `_entities` lookups of `User`: what this subgraph adds needs only the id. */
export function resolveUserReference(reference: { id?: unknown }): User | null {
  return typeof reference.id === 'string' ? userOf(reference.id.toLowerCase()) : null;
}
