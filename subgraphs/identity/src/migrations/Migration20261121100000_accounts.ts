import { Migration } from '@mikro-orm/migrations';

/** Credentials, sessions with rotating refresh tokens, and single-use email tokens. */
export class Migration20261121100000_accounts extends Migration {
  override up(): void {
    this.addSql(`
      alter table "user"
        add column "password_hash" varchar(255) null,
        add column "password_changed_at" timestamptz null,
        add column "deleted_at" timestamptz null`);
    this.addSql('create index "user_created_at_id_idx" on "user" ("created_at" desc, "id" desc)');
    this.addSql(`
      create table "session" (
        "id" uuid primary key,
        "user_id" uuid not null references "user" ("id") on delete cascade,
        "created_at" timestamptz not null,
        "last_used_at" timestamptz null,
        "expires_at" timestamptz not null,
        "revoked_at" timestamptz null,
        "revoked_reason" varchar(40) null,
        "user_agent" varchar(512) null,
        "ip" varchar(64) null
      )`);
    this.addSql('create index "session_user_id_idx" on "session" ("user_id", "created_at" desc)');
    this.addSql(`
      create table "refresh_token" (
        "id" uuid primary key,
        "session_id" uuid not null references "session" ("id") on delete cascade,
        "token_hash" char(64) not null,
        "created_at" timestamptz not null,
        "expires_at" timestamptz not null,
        "used_at" timestamptz null
      )`);
    this.addSql('create unique index "refresh_token_token_hash_key" on "refresh_token" ("token_hash")');
    this.addSql('create index "refresh_token_session_id_idx" on "refresh_token" ("session_id")');
    this.addSql(`
      create table "email_token" (
        "id" uuid primary key,
        "user_id" uuid not null references "user" ("id") on delete cascade,
        "purpose" varchar(20) not null check ("purpose" in ('verify_email', 'reset_password')),
        "token_hash" char(64) not null,
        "created_at" timestamptz not null,
        "expires_at" timestamptz not null,
        "used_at" timestamptz null
      )`);
    this.addSql('create unique index "email_token_token_hash_key" on "email_token" ("token_hash")');
    this.addSql('create index "email_token_user_id_idx" on "email_token" ("user_id", "purpose")');
  }

  override down(): void {
    this.addSql('drop table if exists "email_token"');
    this.addSql('drop table if exists "refresh_token"');
    this.addSql('drop table if exists "session"');
    this.addSql('drop index if exists "user_created_at_id_idx"');
    this.addSql(
      'alter table "user" drop column "password_hash", drop column "password_changed_at", drop column "deleted_at"',
    );
  }
}
