import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261207100000_kernel_jobs } from './Migration20261207100000_kernel_jobs.js';

/** The kernel's job tables, in order; `openDatabase` runs them (after the event tables) in every module's schema. */
export const jobMigrations: MigrationObject[] = [
  { name: 'Migration20261207100000_kernel_jobs', class: Migration20261207100000_kernel_jobs },
];
