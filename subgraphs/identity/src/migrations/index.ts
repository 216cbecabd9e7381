import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_users } from './Migration20261121000000_users.js';
import { Migration20261121100000_accounts } from './Migration20261121100000_accounts.js';

/** Every migration of this module, oldest first. Add new ones at the end. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261121000000_users', class: Migration20261121000000_users },
  { name: 'Migration20261121100000_accounts', class: Migration20261121100000_accounts },
];
