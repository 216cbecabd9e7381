import { Migration } from '@mikro-orm/migrations';

/**
 * API keys and service accounts (issue 21): `api_key`, found by the hash of the key presented;
 * `user.service_account`, accounts without a password that only keys act for.
 */
export class Migration20261208100000_api_keys extends Migration {
  override up(): void {
    this.addSql(`
      create table "api_key" (
        "id" uuid not null primary key,
        "owner_id" uuid not null,
        "created_by" uuid not null,
        "name" varchar(100) not null,
        "prefix" varchar(20) not null,
        "secret_hash" varchar(64) not null,
        "permissions" jsonb not null,
        "expires_at" timestamptz null,
        "created_at" timestamptz not null,
        "last_used_at" timestamptz null,
        "last_used_ip" varchar(64) null,
        "revoked_at" timestamptz null
      )`);
    this.addSql('create unique index "api_key_secret_hash_unique" on "api_key" ("secret_hash")');
    this.addSql('create index "api_key_owner_id_index" on "api_key" ("owner_id")');
    this.addSql('create index "api_key_revoked_at_index" on "api_key" ("revoked_at") where "revoked_at" is not null');
    this.addSql('alter table "user" add column "service_account" boolean not null default false');
  }

  override down(): void {
    this.addSql('alter table "user" drop column if exists "service_account"');
    this.addSql('drop table if exists "api_key"');
  }
}
