import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_roles } from './Migration20261121000000_roles.js';
import { Migration20261121200000_assignments } from './Migration20261121200000_assignments.js';
import { Migration20261122000000_grants } from './Migration20261122000000_grants.js';
import { Migration20261213000000_assignment_source } from './Migration20261213000000_assignment_source.js';

import { Migration20261216000000_organization_roles } from './Migration20261216000000_organization_roles.js';
/** Every migration of this module, oldest first. Add new ones at the end. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261121000000_roles', class: Migration20261121000000_roles },
  { name: 'Migration20261121200000_assignments', class: Migration20261121200000_assignments },
  { name: 'Migration20261122000000_grants', class: Migration20261122000000_grants },
  { name: 'Migration20261213000000_assignment_source', class: Migration20261213000000_assignment_source },
  { name: 'Migration20261216000000_organization_roles', class: Migration20261216000000_organization_roles },
];
