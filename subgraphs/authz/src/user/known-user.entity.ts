import type { Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/**
 * A user of identity's, as authz learnt of them from `identity.user.created` (and forgot on
 * `identity.user.deleted`): roles can only be given to users who exist.
 */
@Entity({ tableName: 'known_user' })
export class KnownUser {
  @PrimaryKey({ type: 'uuid' })
  userId!: string;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  knownSince: Date & Opt = new Date();
}
