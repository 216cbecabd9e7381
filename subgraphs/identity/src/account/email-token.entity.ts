import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

export type EmailTokenPurpose = 'verify_email' | 'reset_password';

/** A single-use token sent by email (verification, password reset); only its hash is stored. */
@Entity({ tableName: 'email_token' })
export class EmailToken {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'uuid' })
  userId!: string;

  @Property({ type: 'varchar', length: 20 })
  purpose!: EmailTokenPurpose;

  @Property({ type: 'char', length: 64 })
  tokenHash!: string;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  expiresAt!: Date;

  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  usedAt?: Date | null;
}
