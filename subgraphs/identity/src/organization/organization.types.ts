import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { MemberRole, Organization } from './organization.entity.js';

@InputType()
export class CreateOrganizationInput {
  @Field({ description: '1 to 100 characters' })
  name!: string;

  @Field({ description: 'Unique: 2 to 63 lower-case letters, digits and single hyphens (e.g. `acme-corp`)' })
  slug!: string;
}

@InputType()
export class InviteMemberInput {
  @Field(() => ID)
  organizationId!: string;

  @Field({ description: 'Where the invitation is mailed; the account that accepts must have it, verified' })
  email!: string;

  @Field(() => MemberRole, { defaultValue: MemberRole.MEMBER, description: 'Owners only may invite owners' })
  role!: MemberRole;
}

@ObjectType({ description: "An organization the caller belongs to, and the caller's role in it" })
export class OrganizationMembership {
  @Field(() => Organization)
  organization!: Organization;

  @Field(() => MemberRole)
  role!: MemberRole;
}
