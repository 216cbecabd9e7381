import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** A person with an account. Emails are unique regardless of case (index on `lower(email)`). */
@ObjectType({ description: 'A user account' })
@Directive('@key(fields: "id")')
@Entity({ tableName: 'user' })
export class User {
  @Field(() => ID)
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Field({ description: 'Visible to the user themself' })
  @Property({ type: 'varchar', length: 320 })
  email!: string;

  @Field(() => String, { nullable: true })
  @Property({ type: 'varchar', length: 100, nullable: true })
  displayName?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'The language mails to the user are written in (a supported locale such as `en` or `de`); null: the language of the request that causes the mail. Visible to the user themself',
  })
  @Property({ type: 'varchar', length: 16, nullable: true })
  locale?: string | null;

  @Field(() => Boolean, { description: 'Visible to the user themself' })
  @Property({ type: 'boolean' })
  emailVerified: boolean & Opt = false;

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Field(() => Date)
  @Property({ columnType: 'timestamptz', type: 'datetime', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();

  /** argon2id PHC string; null for accounts that cannot sign in with a password. Never exposed. */
  @Property({ type: 'varchar', length: 255, nullable: true, lazy: true })
  passwordHash?: string | null;

  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  passwordChangedAt?: Date | null;

  /** When the seed created (or, asked to, adopted) the account as the administrator; never exposed. */
  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  seededAt?: Date | null;

  /** The avatar's key in identity's file storage; clients get a signed URL (`avatarUrl`), never the key. */
  @Property({ type: 'varchar', length: 600, nullable: true })
  avatarKey?: string | null;

  /** A service account: no password, no email of its own; only API keys act for it. */
  @Field(() => Boolean, { description: 'Whether only API keys act for this account (it has no password)' })
  @Property({ type: 'boolean' })
  serviceAccount: boolean & Opt = false;

  /** Set when the account is deleted: the row stays as a tombstone so references still resolve. */
  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  deletedAt?: Date | null;
}
