import { Migration } from '@mikro-orm/migrations';

/**
 * Tenant-scoped roles (issue 22): the organizations identity announced and their members (authz
 * keeps their ids, as it keeps users'), and roles that belong to one organization
 * (`role.organization_id`; null: a global role, as every role was before). A role's name is
 * unique among the global roles, and within its organization. Existing roles stay global.
 */
export class Migration20261216000000_organization_roles extends Migration {
  override up(): void {
    this.addSql(`
      create table "organization" (
        "id" uuid not null primary key,
        "known_since" timestamptz not null
      )`);
    this.addSql(`
      create table "organization_member" (
        "organization_id" uuid not null references "organization" ("id") on delete cascade,
        "user_id" uuid not null,
        "role" varchar(10) not null,
        primary key ("organization_id", "user_id")
      )`);
    this.addSql('create index "organization_member_user_id_index" on "organization_member" ("user_id")');
    this.addSql(
      'alter table "role" add column "organization_id" uuid null references "organization" ("id") on delete cascade',
    );
    this.addSql('alter table "role" drop constraint "role_name_key"');
    this.addSql('create unique index "role_global_name_key" on "role" ("name") where "organization_id" is null');
    this.addSql(
      'create unique index "role_organization_name_key" on "role" ("organization_id", "name") where "organization_id" is not null',
    );
  }

  override down(): void {
    this.addSql('delete from "role" where "organization_id" is not null');
    this.addSql('drop index if exists "role_organization_name_key"');
    this.addSql('drop index if exists "role_global_name_key"');
    this.addSql('alter table "role" add constraint "role_name_key" unique ("name")');
    this.addSql('alter table "role" drop column if exists "organization_id"');
    this.addSql('drop table if exists "organization_member"');
    this.addSql('drop table if exists "organization"');
  }
}
