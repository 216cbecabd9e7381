import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Field, ID, ObjectType } from 'type-graphql';

/** A signed-in device: one refresh-token family. Revoking it ends every token it issued. */
@ObjectType({ description: 'A signed-in device or browser' })
@Entity({ tableName: 'session' })
export class Session {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'uuid' })
  userId!: string;

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Field(() => Date, { nullable: true })
  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  lastUsedAt?: Date | null;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  expiresAt!: Date;

  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  revokedAt?: Date | null;

  @Property({ type: 'varchar', length: 40, nullable: true })
  revokedReason?: string | null;

  /** The organization the session is active in (its access tokens' `org`); null: none. */
  @Field(() => ID, { nullable: true, description: 'The organization this session is active in' })
  @Property({ type: 'uuid', nullable: true })
  organizationId?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'varchar', length: 512, nullable: true })
  userAgent?: string | null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'varchar', length: 64, nullable: true })
  ip?: string | null;

  /** Whether this is the session of the request asking (set by the resolver). */
  @Field(() => Boolean, { description: 'This is the session making the request' })
  current: boolean & Opt = false;
}

/** One refresh token, stored as a SHA-256 hash. Used once: refreshing replaces it. */
@Entity({ tableName: 'refresh_token' })
export class RefreshToken {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'uuid' })
  sessionId!: string;

  @Property({ type: 'char', length: 64 })
  tokenHash!: string;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  expiresAt!: Date;

  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  usedAt?: Date | null;
}
