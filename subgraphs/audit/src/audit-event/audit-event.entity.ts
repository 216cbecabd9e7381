import { BigIntType, type Opt } from '@mikro-orm/core';
import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { GraphQLJSON } from 'graphql-scalars';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

/**
 * One security-relevant action, stored append-only; `hash` chains it to the previous one (see
 * chain/canonical.ts). Rows are written only by the recorder (SQL, under the chain-head lock)
 * and never changed: the ORM only reads them.
 */
@ObjectType({ description: 'A security-relevant action recorded by any module' })
@Directive('@key(fields: "id")')
@Entity({ tableName: 'audit_event' })
@Index({ name: 'audit_event_actor_id_seq_idx', properties: ['actorId', 'seq'] })
@Index({ name: 'audit_event_target_seq_idx', properties: ['targetType', 'targetId', 'seq'] })
export class AuditEvent {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  /** Position in the chain (1, 2, 3…): the order of the list and of the hash chain. */
  @Property({ type: new BigIntType('number') })
  @Unique({ name: 'audit_event_seq_uidx' })
  seq!: number;

  @Field(() => ID, { nullable: true, description: 'Id of the event this record was made from' })
  @Property({ type: 'uuid', nullable: true })
  @Unique({ name: 'audit_event_event_id_uidx' })
  eventId?: string | null;

  @Field({ description: 'What happened: the event topic, module.resource.verb (e.g. identity.login.failed)' })
  @Property({ type: 'varchar', length: 200 })
  action!: string;

  /** The identity user who acted (null for the system); exposed as `actor` through federation. */
  @Property({ type: 'uuid', nullable: true })
  actorId?: string | null;

  @Field(() => String, { nullable: true, description: 'Kind of thing acted on, e.g. user, role, post, session' })
  @Property({ type: 'varchar', length: 64, nullable: true })
  targetType?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'varchar', length: 128, nullable: true })
  targetId?: string | null;

  @Field(() => GraphQLJSON, { nullable: true, description: "The event's payload; secrets never appear here" })
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

  @Field(() => Date, { description: 'When it happened, as the publishing module saw it' })
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  occurredAt!: Date;

  @Field(() => Date, { description: 'When audit stored it (later than occurredAt if audit was down)' })
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  recordedAt!: Date;

  @Field({ description: "sha256 (hex) of the previous record's hash followed by this record's canonical form" })
  @Property({ type: 'varchar', length: 64 })
  hash!: string;
}
