import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121000000_users } from './Migration20261121000000_users.js';
import { Migration20261121100000_accounts } from './Migration20261121100000_accounts.js';
import { Migration20261122000000_revocation_indexes } from './Migration20261122000000_revocation_indexes.js';
import { Migration20261207000000_seeded_at } from './Migration20261207000000_seeded_at.js';
import { Migration20261212000000_signing_keys } from './Migration20261212000000_signing_keys.js';
import { Migration20261207130000_uploads } from './Migration20261207130000_uploads.js';
import { Migration20261208300000_oidc } from './Migration20261208300000_oidc.js';
import { Migration20261208200000_totp } from './Migration20261208200000_totp.js';
import { Migration20261208100000_api_keys } from './Migration20261208100000_api_keys.js';
import { Migration20261213000000_sign_in_providers } from './Migration20261213000000_sign_in_providers.js';
import { Migration20261215000000_user_locale } from './Migration20261215000000_user_locale.js';
import { Migration20261216000000_organizations } from './Migration20261216000000_organizations.js';

/** Every migration of this module, oldest first. Add new ones at the end. */
export const migrations: MigrationObject[] = [
  { name: 'Migration20261121000000_users', class: Migration20261121000000_users },
  { name: 'Migration20261121100000_accounts', class: Migration20261121100000_accounts },
  { name: 'Migration20261122000000_revocation_indexes', class: Migration20261122000000_revocation_indexes },
  { name: 'Migration20261207000000_seeded_at', class: Migration20261207000000_seeded_at },
  { name: 'Migration20261212000000_signing_keys', class: Migration20261212000000_signing_keys },
  { name: 'Migration20261207130000_uploads', class: Migration20261207130000_uploads },
  { name: 'Migration20261208100000_api_keys', class: Migration20261208100000_api_keys },
  { name: 'Migration20261208200000_totp', class: Migration20261208200000_totp },
  { name: 'Migration20261208300000_oidc', class: Migration20261208300000_oidc },
  { name: 'Migration20261213000000_sign_in_providers', class: Migration20261213000000_sign_in_providers },
  { name: 'Migration20261215000000_user_locale', class: Migration20261215000000_user_locale },
  { name: 'Migration20261216000000_organizations', class: Migration20261216000000_organizations },
];
