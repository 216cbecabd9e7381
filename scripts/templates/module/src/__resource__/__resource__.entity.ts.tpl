import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Check, Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** A __resource__. The table is made by the migrations; the decorators describe it to the ORM. */
@ObjectType({ description: 'A __resource__ written by a user' })
@Directive('@key(fields: "id")')
@Entity({ tableName: '__resource__' })
@Index({ name: '__resource___created_at_id_idx', properties: ['createdAt', 'id'] })
@Index({ name: '__resource___author_id_created_at_id_idx', properties: ['authorId', 'createdAt', 'id'] })
@Check({ name: '__resource___title_length_check', expression: 'char_length("title") between 1 and 200' })
@Check({ name: '__resource___content_length_check', expression: 'char_length("content") between 1 and 100000' })
export class __Resource__ {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field()
  @Property({ type: 'varchar', length: 200 })
  title!: string;

  @Field()
  @Property({ type: 'text' })
  content!: string;

  /** The identity user who wrote it; exposed as `author` through federation. */
  @Property({ type: 'uuid' })
  authorId!: string;

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
