import type { MigrationObject } from '@mikro-orm/core';
import { Migration20260101000000_kernel_events } from './Migration20260101000000_kernel_events.js';
import { Migration20261122000000_outbox_claims } from './Migration20261122000000_outbox_claims.js';

/** The kernel's event tables, in order; `openDatabase` runs them first in every module's schema. */
export const eventMigrations: MigrationObject[] = [
  { name: 'Migration20260101000000_kernel_events', class: Migration20260101000000_kernel_events },
  { name: 'Migration20261122000000_outbox_claims', class: Migration20261122000000_outbox_claims },
];
