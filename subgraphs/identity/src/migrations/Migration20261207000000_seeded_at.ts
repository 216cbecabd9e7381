import { Migration } from '@mikro-orm/migrations';

/**
 * `user.seeded_at`: when `platformctl seed` (or a development start) created or adopted the
 * account as the administrator. Only such an account is made administrator again when the seed
 * repairs it: someone who registered the configured address first is not. Accounts the seed made
 * before this column existed are found through their `identity.user.created` event (via `seed`)
 * while it is still in the outbox (published rows are kept for days).
 */
export class Migration20261207000000_seeded_at extends Migration {
  override up(): void {
    this.addSql('alter table "user" add column "seeded_at" timestamptz null');
    this.addSql(`
      update "user" u set "seeded_at" = u."created_at"
      from "outbox" o
      where o."topic" = 'identity.user.created'
        and o."payload"->>'via' = 'seed'
        and o."payload"->>'userId' = u."id"::text`);
  }

  override down(): void {
    this.addSql('alter table "user" drop column if exists "seeded_at"');
  }
}
