import { Migration } from '@mikro-orm/migrations';

/**
 * `user.locale`: the language the user chose for what the platform writes to them (mails), one of
 * the kernel's supported locales; null until they choose, then mails follow the language of the
 * request that caused them.
 */
export class Migration20261215000000_user_locale extends Migration {
  override up(): void {
    this.addSql('alter table "user" add column "locale" varchar(16) null');
  }

  override down(): void {
    this.addSql('alter table "user" drop column if exists "locale"');
  }
}
