import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType } from 'type-graphql';

/**
 * An API key: acts for its owner (a user or a service account) with at most `permissions`. Only
 * the SHA-256 of the key is stored; the key itself is shown once, by `createApiKey`.
 */
@ObjectType({ description: 'An API key (the key itself is shown only when it is created)' })
@Entity({ tableName: 'api_key' })
export class ApiKey {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field(() => ID, { description: 'The user or service account the key acts for' })
  @Property({ type: 'uuid' })
  ownerId!: string;

  @Field(() => ID, { description: 'Who created it (the owner, or an administrator of service accounts)' })
  @Property({ type: 'uuid' })
  createdBy!: string;

  @Field()
  @Property({ type: 'varchar', length: 100 })
  name!: string;

  @Field({ description: 'The first characters of the key (`plk_` and 8 more), to recognise it' })
  @Property({ type: 'varchar', length: 20 })
  prefix!: string;

  /** SHA-256 (hex) of the whole key; unique. Never exposed. */
  @Property({ type: 'varchar', length: 64 })
  secretHash!: string;

  @Field(() => [String], { description: 'The most the key may do; never more than its owner can' })
  @Property({ type: 'json' })
  permissions!: string[];

  @Field(() => Date, { nullable: true })
  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  expiresAt?: Date | null;

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Field(() => Date, { nullable: true, description: 'Updated at most once a minute' })
  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  lastUsedAt?: Date | null;

  @Field(() => String, { nullable: true, description: 'The client address of that use' })
  @Property({ type: 'varchar', length: 64, nullable: true })
  lastUsedIp?: string | null;

  @Field(() => Date, { nullable: true })
  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  revokedAt?: Date | null;

  @Field(() => ID, {
    nullable: true,
    description: 'The organization the key acts in (its tokens name it); it stops when its owner leaves it',
  })
  @Property({ type: 'uuid', nullable: true })
  organizationId?: string | null;
}
