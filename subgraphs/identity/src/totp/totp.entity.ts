import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/**
 * A user's authenticator (RFC 6238 TOTP): one per user. Pending (`confirmedAt` null) from
 * `enrollTotp` until a first code proves the app holds the secret; only then does login ask for
 * codes. The secret is stored only encrypted (a JWE under identity's key-encryption key).
 */
@Entity({ tableName: 'totp_credential' })
export class TotpCredential {
  @PrimaryKey({ type: 'uuid' })
  userId!: string;

  /** The secret's bytes as a JWE (`dir` + A256GCM) bound to this user (see `totp/secret.ts`). */
  @Property({ type: 'text' })
  secretJwe!: string;

  /** Which key-encryption key wrote `secretJwe`. */
  @Property({ type: 'varchar', length: 32 })
  kekId!: string;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  confirmedAt?: Date | null;

  /**
   * The RFC 6238 time step of the last code accepted: a code is accepted once, and none of an
   * earlier step after it (replay within the code's window is refused).
   */
  @Property({ type: 'integer', nullable: true })
  lastTimeStep?: number | null;
}

/** One of a user's ten single-use recovery codes, stored as a SHA-256 hash. */
@Entity({ tableName: 'recovery_code' })
export class RecoveryCode {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'uuid' })
  userId!: string;

  @Property({ type: 'char', length: 64 })
  codeHash!: string;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();

  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  usedAt?: Date | null;
}
