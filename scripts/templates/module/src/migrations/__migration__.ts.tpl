import { Migration } from '@mikro-orm/migrations';

/**
 * The __resource__ table, with the indexes and checks its entity declares. The limits the API
 * enforces are enforced here too, written out rather than imported: a migration is history and
 * must not change when the code does.
 */
export class __migration__ extends Migration {
  override up(): void {
    this.addSql(`
      create table "__resource__" (
        "id" uuid primary key,
        "title" varchar(200) not null,
        "content" text not null,
        "author_id" uuid not null,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now(),
        constraint "__resource___title_length_check" check (char_length("title") between 1 and 200),
        constraint "__resource___content_length_check" check (char_length("content") between 1 and 100000)
      )`);
    this.addSql('create index "__resource___created_at_id_idx" on "__resource__" ("created_at" desc, "id" desc)');
    this.addSql(
      'create index "__resource___author_id_created_at_id_idx" on "__resource__" ("author_id", "created_at" desc, "id" desc)',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "__resource__"');
  }
}
