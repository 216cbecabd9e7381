import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** A named set of permissions given to users. Built-in roles cannot be deleted. */
@ObjectType({ description: 'A named set of permissions' })
@Directive('@key(fields: "id")')
@Entity({ tableName: 'role' })
@Index({ name: 'role_created_at_id_idx', properties: ['createdAt', 'id'] })
export class Role {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field()
  /** Unique among global roles, and within its organization (two partial unique indexes). */
  @Property({ type: 'varchar', length: 64 })
  name!: string;

  @Field(() => ID, {
    nullable: true,
    description: 'The organization the role belongs to (it holds only there); null for a global role',
  })
  @Property({ type: 'uuid', nullable: true })
  organizationId?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  description?: string | null;

  @Field(() => Boolean, { description: 'Seeded by the platform; cannot be deleted' })
  @Property({ type: 'boolean' })
  builtIn: boolean & Opt = false;

  @Field(() => Boolean, {
    description: 'Holds every permission, including those of modules added later (the admin role)',
  })
  @Property({ type: 'boolean' })
  grantsAll: boolean & Opt = false;

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Field(() => Date, { nullable: true, description: 'Last rename or new description' })
  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  updatedAt?: Date | null;
}
