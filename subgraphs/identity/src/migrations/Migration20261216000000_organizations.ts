import { Migration } from '@mikro-orm/migrations';

/**
 * Organizations (issue 22): `organization`, its members (one row per user and organization, the
 * membership role), its pending invitations (only the token's SHA-256), and the organization a
 * session is active in (`session.organization_id`, null: none; every access token of the session
 * names it), and the organization an API key acts in (`api_key.organization_id`). Existing users,
 * sessions and keys belong to none.
 */
export class Migration20261216000000_organizations extends Migration {
  override up(): void {
    this.addSql(`
      create table "organization" (
        "id" uuid not null primary key,
        "name" varchar(100) not null,
        "slug" varchar(63) not null unique,
        "created_by" uuid not null,
        "created_at" timestamptz not null
      )`);
    this.addSql(`
      create table "organization_member" (
        "id" uuid not null primary key,
        "organization_id" uuid not null references "organization" ("id") on delete cascade,
        "user_id" uuid not null references "user" ("id") on delete cascade,
        "role" varchar(10) not null check ("role" in ('owner', 'admin', 'member')),
        "joined_at" timestamptz not null,
        constraint "organization_member_unique" unique ("organization_id", "user_id")
      )`);
    this.addSql('create index "organization_member_user_id_index" on "organization_member" ("user_id")');
    this.addSql(`
      create table "organization_invitation" (
        "id" uuid not null primary key,
        "organization_id" uuid not null references "organization" ("id") on delete cascade,
        "email" varchar(320) not null,
        "role" varchar(10) not null check ("role" in ('owner', 'admin', 'member')),
        "token_hash" char(64) not null unique,
        "invited_by" uuid not null,
        "created_at" timestamptz not null,
        "expires_at" timestamptz not null,
        "accepted_at" timestamptz null
      )`);
    this.addSql(
      'create index "organization_invitation_organization_email_index" on "organization_invitation" ("organization_id", "email")',
    );
    this.addSql(
      'alter table "session" add column "organization_id" uuid null references "organization" ("id") on delete set null',
    );
    this.addSql(
      'alter table "api_key" add column "organization_id" uuid null references "organization" ("id") on delete cascade',
    );
  }

  override down(): void {
    this.addSql('alter table "api_key" drop column if exists "organization_id"');
    this.addSql('alter table "session" drop column if exists "organization_id"');
    this.addSql('drop table if exists "organization_invitation"');
    this.addSql('drop table if exists "organization_member"');
    this.addSql('drop table if exists "organization"');
  }
}
