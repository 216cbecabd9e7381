import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { GraphQLJSON } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** One security-relevant action, stored append-only; `hash` chains it to the previous one. */
@ObjectType({ description: 'A security-relevant action recorded by any module' })
@Directive('@key(fields: "id")')
@Entity({ tableName: 'audit_event' })
@Index({ name: 'audit_event_occurred_at_id_idx', properties: ['occurredAt', 'id'] })
@Index({ name: 'audit_event_actor_id_idx', properties: ['actorId'] })
export class AuditEvent {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field({ description: 'What happened, e.g. identity.user.login' })
  @Property({ type: 'varchar', length: 128 })
  action!: string;

  /** The identity user who acted (null for the system); exposed as `actor` through federation. */
  @Property({ type: 'uuid', nullable: true })
  actorId?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'varchar', length: 64, nullable: true })
  targetType?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'varchar', length: 128, nullable: true })
  targetId?: string | null;

  @Field(() => GraphQLJSON, { nullable: true })
  @Property({ type: 'json', columnType: 'jsonb' })
  metadata: Record<string, unknown> & Opt = {};

  @Field(() => String, { nullable: true })
  @Property({ type: 'varchar', length: 128, nullable: true })
  requestId?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'varchar', length: 32, nullable: true })
  traceId?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'varchar', length: 64, nullable: true })
  ip?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  userAgent?: string | null;

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  occurredAt: Date & Opt = new Date();

  @Field({ description: 'sha256 (hex) chaining this event to the previous one' })
  @Property({ type: 'varchar', length: 64 })
  hash!: string;
}
