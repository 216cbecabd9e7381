import { Migration } from '@mikro-orm/migrations';

/** Who holds which role. `user_id` points into identity's database, so it has no foreign key. */
export class Migration20261121200000_assignments extends Migration {
  override up(): void {
    this.addSql(`
      create table "role_assignment" (
        "user_id" uuid not null,
        "role_id" uuid not null constraint "role_assignment_role_id_foreign" references "role" ("id") on delete cascade,
        "assigned_at" timestamptz not null default now(),
        constraint "role_assignment_pkey" primary key ("user_id", "role_id")
      )`);
    // The primary key serves lookups by user; this one serves the cascade and "who holds this role".
    this.addSql('create index "role_assignment_role_id_idx" on "role_assignment" ("role_id")');
  }

  override down(): void {
    this.addSql('drop table if exists "role_assignment"');
  }
}
