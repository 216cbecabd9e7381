import { Migration } from '@mikro-orm/migrations';

/**
 * Two-factor sign-in (issue 21): `totp_credential`, each user's authenticator secret (encrypted,
 * pending until confirmed, with the time step of the last code accepted against replay), and
 * `recovery_code`, ten single-use codes per user, hashed. Both go with their user.
 */
export class Migration20261208200000_totp extends Migration {
  override up(): void {
    this.addSql(`
      create table "totp_credential" (
        "user_id" uuid not null primary key references "user" ("id") on delete cascade,
        "secret_jwe" text not null,
        "kek_id" varchar(32) not null,
        "created_at" timestamptz not null,
        "confirmed_at" timestamptz null,
        "last_time_step" integer null
      )`);
    this.addSql(`
      create table "recovery_code" (
        "id" uuid not null primary key,
        "user_id" uuid not null references "user" ("id") on delete cascade,
        "code_hash" char(64) not null,
        "created_at" timestamptz not null,
        "used_at" timestamptz null
      )`);
    this.addSql('create index "recovery_code_user_id_index" on "recovery_code" ("user_id")');
  }

  override down(): void {
    this.addSql('drop table if exists "recovery_code"');
    this.addSql('drop table if exists "totp_credential"');
  }
}
