import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_users } from './Migration20261121000000_users.js';

/** Every migration of this module, oldest first. Add new ones at the end. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261121000000_users', class: Migration20261121000000_users },
];
