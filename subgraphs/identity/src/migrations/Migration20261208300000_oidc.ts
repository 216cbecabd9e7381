import { Migration } from '@mikro-orm/migrations';

/**
 * The OpenID Connect provider (subgraphs/identity/src/oidc). `oidc_payload` is its storage
 * adapter's one table, shared by every identity instance: sessions, interactions, grants,
 * authorization codes, refresh tokens, and this module's own records (the platform session of a
 * grant, the cookie keys), each a JSON payload under (model, id) with the indexes the adapter
 * looks rows up by. `oauth_client` holds the clients managed through GraphQL; a confidential
 * client's secret is stored only as its SHA-256 (secrets are 256 random bits); one with a service
 * account acts as it with `client_credentials`.
 */
export class Migration20261208300000_oidc extends Migration {
  override up(): void {
    this.addSql(`
      create table "oidc_payload" (
        "model" varchar(40) not null,
        "id" varchar(255) not null,
        "payload" jsonb not null,
        "grant_id" varchar(255) null,
        "user_code" varchar(255) null,
        "uid" varchar(255) null,
        "expires_at" timestamptz null,
        "consumed_at" timestamptz null,
        primary key ("model", "id")
      )`);
    this.addSql('create index "oidc_payload_grant_id_index" on "oidc_payload" ("grant_id")');
    this.addSql('create index "oidc_payload_uid_index" on "oidc_payload" ("uid")');
    this.addSql('create index "oidc_payload_user_code_index" on "oidc_payload" ("user_code")');
    this.addSql('create index "oidc_payload_expires_at_index" on "oidc_payload" ("expires_at")');
    this.addSql(`
      create table "oauth_client" (
        "client_id" varchar(64) primary key,
        "name" varchar(200) not null,
        "secret_hash" char(64) null,
        "public" boolean not null,
        "redirect_uris" jsonb not null,
        "grant_types" jsonb not null,
        "scopes" jsonb not null,
        "service_account_id" uuid null,
        "created_by" uuid null,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now(),
        check ("public" = ("secret_hash" is null))
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists "oauth_client"');
    this.addSql('drop table if exists "oidc_payload"');
  }
}
