import { PrimaryKeyProp, type Opt } from '@mikro-orm/core';
import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Role } from '../role/role.entity.js';

/**
 * A role held by a user. Users belong to identity, so only their id is kept here; deleting a
 * role removes its assignments (the foreign key cascades).
 */
@Entity({ tableName: 'role_assignment' })
@Index({ name: 'role_assignment_role_id_idx', properties: ['role'] })
export class RoleAssignment {
  [PrimaryKeyProp]?: ['userId', 'role'];

  @PrimaryKey({ type: 'uuid' })
  userId!: string;

  @ManyToOne(() => Role, { primary: true, deleteRule: 'cascade' })
  role!: Role;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  assignedAt: Date & Opt = new Date();

  /** `provider:<id>` when a sign-in provider's claims gave it (and may take it back); null otherwise. */
  @Property({ type: 'varchar', length: 60, nullable: true })
  source?: (string & Opt) | null = null;
}
