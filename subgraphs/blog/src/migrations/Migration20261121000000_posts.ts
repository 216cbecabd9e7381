import { Migration } from '@mikro-orm/migrations';

export class Migration20261121000000_posts extends Migration {
  override up(): void {
    this.addSql(`
      create table "post" (
        "id" uuid primary key,
        "title" varchar(200) not null,
        "content" text not null,
        "author_id" uuid not null,
        "created_at" timestamptz not null default now(),
        "updated_at" timestamptz not null default now()
      )`);
    this.addSql('create index "post_created_at_id_idx" on "post" ("created_at" desc, "id" desc)');
    this.addSql('create index "post_author_id_created_at_idx" on "post" ("author_id", "created_at" desc)');
  }

  override down(): void {
    this.addSql('drop table if exists "post"');
  }
}
