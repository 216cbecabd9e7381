import { Migration } from '@mikro-orm/migrations';

export class Migration20261121000000_users extends Migration {
  override up(): void {
    // "user" is a reserved word: always quoted.
    this.addSql(`
      create table "user" (
        "id" uuid primary key,
        "email" varchar(320) not null,
        "display_name" varchar(100) null,
        "email_verified" boolean not null default false,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now()
      )`);
    this.addSql('create unique index "user_email_lower_key" on "user" (lower("email"))');
  }

  override down(): void {
    this.addSql('drop table if exists "user"');
  }
}
