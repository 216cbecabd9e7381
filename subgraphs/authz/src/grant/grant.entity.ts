import { PrimaryKeyProp, type Opt } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { Role } from '../role/role.entity.js';

/** One permission a role grants. Deleting the role removes its grants (the foreign key cascades). */
@Entity({ tableName: 'role_permission' })
export class RolePermission {
  [PrimaryKeyProp]?: ['role', 'permission'];

  @ManyToOne(() => Role, { primary: true, deleteRule: 'cascade' })
  role!: Role;

  /** `module.resource.action`, as some module's manifest declares it. */
  @PrimaryKey({ type: 'varchar', length: 128 })
  permission!: string;

  @Property({ columnType: 'timestamptz', type: 'datetime' })
  grantedAt: Date & Opt = new Date();
}
