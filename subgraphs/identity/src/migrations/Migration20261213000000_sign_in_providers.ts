import { Migration } from '@mikro-orm/migrations';

/**
 * Sign-in with external OpenID Connect providers (issue 21): `external_identity` links a
 * provider's subject to an account; `provider_sign_in` holds the sign-ins under way (deleted
 * when completed, or by the `expired-credentials` schedule once expired).
 */
export class Migration20261213000000_sign_in_providers extends Migration {
  override up(): void {
    this.addSql(`
      create table "external_identity" (
        "id" uuid not null primary key,
        "provider" varchar(40) not null,
        "subject" varchar(255) not null,
        "user_id" uuid not null references "user" ("id") on delete cascade,
        "email" varchar(320) null,
        "created_at" timestamptz not null,
        "last_sign_in_at" timestamptz not null,
        constraint "external_identity_provider_subject_unique" unique ("provider", "subject")
      )`);
    this.addSql('create index "external_identity_user_id_index" on "external_identity" ("user_id")');
    this.addSql(`
      create table "provider_sign_in" (
        "id" uuid not null primary key,
        "provider" varchar(40) not null,
        "state_hash" char(64) not null unique,
        "binding_hash" char(64) not null unique,
        "nonce" varchar(64) not null,
        "code_verifier" varchar(128) not null,
        "return_to" varchar(2048) not null,
        "user_id" uuid null references "user" ("id") on delete cascade,
        "code_hash" char(64) null,
        "created_at" timestamptz not null,
        "expires_at" timestamptz not null
      )`);
    this.addSql('create index "provider_sign_in_expires_at_index" on "provider_sign_in" ("expires_at")');
  }

  override down(): void {
    this.addSql('drop table if exists "provider_sign_in"');
    this.addSql('drop table if exists "external_identity"');
  }
}
