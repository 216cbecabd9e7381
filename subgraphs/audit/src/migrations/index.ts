import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_audit_events } from './Migration20261121000000_audit_events.js';
import { Migration20261201000000_audit_chain } from './Migration20261201000000_audit_chain.js';
import { Migration20261210000000_audit_signed_checkpoints } from './Migration20261210000000_audit_signed_checkpoints.js';

/** Every migration of this module, oldest first. Add new ones at the end. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261121000000_audit_events', class: Migration20261121000000_audit_events },
  { name: 'Migration20261201000000_audit_chain', class: Migration20261201000000_audit_chain },
  {
    name: 'Migration20261210000000_audit_signed_checkpoints',
    class: Migration20261210000000_audit_signed_checkpoints,
  },
];
