import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';

/**
 * What a member may do to the organization itself: `owner` everything (owners are never fewer
 * than one), `admin` invite and remove members (not owners), `member` belong. What a member may do
 * in the product is their roles' (authz), not this.
 */
export enum MemberRole {
  OWNER = 'owner',
  ADMIN = 'admin',
  MEMBER = 'member',
}
registerEnumType(MemberRole, {
  name: 'MemberRole',
  description: 'What a member may do to the organization itself (its members); product permissions are roles',
});

/** A customer organization (a tenant): users belong to several; one is active per session. */
@ObjectType({ description: 'An organization (a tenant): its members, data and roles are its own' })
@Entity({ tableName: 'organization' })
export class Organization {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field()
  @Property({ type: 'varchar', length: 100 })
  name!: string;

  @Field({ description: 'Unique, lower-case letters, digits and single hyphens (e.g. `acme-corp`)' })
  @Property({ type: 'varchar', length: 63, unique: true })
  slug!: string;

  @Field(() => ID, { description: 'Who created it' })
  @Property({ type: 'uuid' })
  createdBy!: string;

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();
}

/** A user's membership of an organization. */
@ObjectType({ description: "A user's membership of an organization" })
@Entity({ tableName: 'organization_member' })
export class OrganizationMember {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  organizationId!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  userId!: string;

  @Field(() => MemberRole)
  @Property({ type: 'varchar', length: 10 })
  role!: MemberRole;

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  joinedAt: Date & Opt = new Date();
}

/**
 * An invitation to join: mailed to `email` with a one-time token (only its SHA-256 is kept);
 * accepted by the signed-in account whose verified email it is.
 */
@ObjectType({ description: 'An invitation to join an organization (the link is only in the mail)' })
@Entity({ tableName: 'organization_invitation' })
export class OrganizationInvitation {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field(() => ID)
  @Property({ type: 'uuid' })
  organizationId!: string;

  @Field()
  @Property({ type: 'varchar', length: 320 })
  email!: string;

  @Field(() => MemberRole, { description: 'The role the invited user gets' })
  @Property({ type: 'varchar', length: 10 })
  role!: MemberRole;

  @Property({ type: 'char', length: 64, unique: true })
  tokenHash!: string;

  @Field(() => ID)
  @Property({ type: 'uuid' })
  invitedBy!: string;

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  expiresAt!: Date;

  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  acceptedAt?: Date | null;
}
