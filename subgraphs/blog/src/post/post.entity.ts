import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Check, Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

// reference-only:start (blog's own wording; the schema keeps it)
/** A blog post. The table is made by the migrations; the decorators describe it to the ORM. */
@ObjectType({ description: 'A blog post' })
// template: /** A post. The table is made by the migrations; the decorators describe it to the ORM. */
// template: @ObjectType({ description: 'A post written by a user' })
// reference-only:end
@Directive('@key(fields: "id")')
@Entity({ tableName: 'post' })
@Index({ name: 'post_created_at_id_idx', properties: ['createdAt', 'id'] })
@Index({ name: 'post_author_id_created_at_id_idx', properties: ['authorId', 'createdAt', 'id'] })
@Check({ name: 'post_title_length_check', expression: 'char_length("title") between 1 and 200' })
@Check({ name: 'post_content_length_check', expression: 'char_length("content") between 1 and 100000' })
export class Post {
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
