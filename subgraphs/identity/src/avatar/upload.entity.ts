import { randomUUID } from 'node:crypto';
import type { Opt } from '@mikro-orm/core';
import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/** What an upload is for; each purpose has its own types and size limit. */
export type UploadPurposeValue = 'avatar';

/**
 * A file a user was given an upload URL for: theirs only, for one purpose, of a declared type
 * and size. Attached (an avatar) once it checked out; otherwise removed after it expires
 * (`UploadService.pruneExpired`).
 */
@Entity({ tableName: 'upload' })
@Index({ properties: ['ownerId'] })
export class Upload {
  @PrimaryKey({ type: 'uuid' })
  id: string & Opt = randomUUID();

  @Property({ type: 'uuid' })
  ownerId!: string;

  @Property({ type: 'varchar', length: 20 })
  purpose!: UploadPurposeValue;

  /** The object's key in identity's file storage. */
  @Property({ type: 'varchar', length: 600 })
  key!: string;

  /** As declared; the stored object is checked against it. */
  @Property({ type: 'varchar', length: 100 })
  contentType!: string;

  @Property({ type: 'integer' })
  byteSize!: number;

  /** When the upload URL lapses. */
  @Property({ columnType: 'timestamptz', type: 'datetime' })
  expiresAt!: Date;

  @Property({ columnType: 'timestamptz', type: 'datetime', nullable: true })
  attachedAt?: Date | null;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  createdAt: Date & Opt = new Date();
}
