import { Migration } from '@mikro-orm/migrations';

export class Migration20261121000000_roles extends Migration {
  override up(): void {
    this.addSql(`
      create table "role" (
        "id" uuid primary key,
        "name" varchar(64) not null constraint "role_name_key" unique,
        "description" text null,
        "built_in" boolean not null default false,
        "created_at" timestamptz not null default now()
      )`);
    this.addSql('create index "role_created_at_id_idx" on "role" ("created_at" desc, "id" desc)');
  }

  override down(): void {
    this.addSql('drop table if exists "role"');
  }
}
