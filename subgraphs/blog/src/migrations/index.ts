import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_posts } from './Migration20261121000000_posts.js';
import { Migration20261121200000_post_limits } from './Migration20261121200000_post_limits.js'; // reference-only: history

/** Every migration of this module, oldest first. Add new ones at the end; never edit an applied one. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261121000000_posts', class: Migration20261121000000_posts },
  { name: 'Migration20261121200000_post_limits', class: Migration20261121200000_post_limits }, // reference-only: history
];
