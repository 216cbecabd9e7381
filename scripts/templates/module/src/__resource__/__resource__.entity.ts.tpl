import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

/**
 * A __resource__: a GraphQL entity other subgraphs can reference by id, and a table row. The
 * migrations make the table; the decorators describe it to the ORM.
 */
@ObjectType({ description: 'A __resource__ written by a user' })
@Directive('@key(fields: "id")')
@Entity({ tableName: '__resource__' })
export class __Resource__ {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field()
  @Property({ type: 'varchar', length: 200 })
  title!: string;

  @Field()
  @Property({ type: 'text' })
  body!: string;

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
