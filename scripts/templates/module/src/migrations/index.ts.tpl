import type { MigrationObject } from '@mikro-orm/core';
import { __migration__ } from './__migration__.js';

/** Every migration of this module, oldest first. Add new ones at the end; never edit an applied one. */
export const migrations: MigrationObject[] = [{ name: '__migration__', class: __migration__ }];
