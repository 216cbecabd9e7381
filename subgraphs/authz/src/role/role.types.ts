import { Field, ID, InputType, ObjectType } from 'type-graphql';

@InputType({ description: 'A new role' })
export class CreateRoleInput {
  @Field({
    description:
      '2-64 lower-case letters, digits, "-" or "_", starting with a letter; unique among global roles, or within its organization',
  })
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => [String], { nullable: true, description: 'Permissions it grants from the start' })
  permissions?: string[] | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "The organization it belongs to (its roles grant only within modules.authz.organizationAllowList); null: a global role; left out: the caller's active organization, else global",
  })
  organizationId?: string | null;
}

@InputType({ description: 'Changes to a role; built-in roles keep their names' })
export class UpdateRoleInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String, { nullable: true, description: 'Empty or null clears it' })
  description?: string | null;
}

@ObjectType({ description: 'A permission some module declares in its manifest (`module.resource.action`)' })
export class Permission {
  @Field()
  name!: string;

  @Field({ description: 'The module that declares and enforces it' })
  module!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;
}
