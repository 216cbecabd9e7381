import { PrimaryKeyProp, type Opt } from '@mikro-orm/core';
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

/**
 * An organization of identity's, as authz learnt of it from `identity.organization.created`: its
 * roles can only be made once it exists. Deleting it (not yet offered) removes its roles.
 */
@Entity({ tableName: 'organization' })
export class KnownOrganization {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  knownSince: Date & Opt = new Date();
}

/**
 * A member of an organization and their membership role (`owner`, `admin`, `member`), from
 * identity's `identity.organization.member_*` events: an organization's roles go to its members only.
 */
@Entity({ tableName: 'organization_member' })
export class KnownMember {
  [PrimaryKeyProp]?: ['organizationId', 'userId'];

  @PrimaryKey({ type: 'uuid' })
  organizationId!: string;

  @PrimaryKey({ type: 'uuid' })
  userId!: string;

  @Property({ type: 'varchar', length: 10 })
  role!: string;
}
