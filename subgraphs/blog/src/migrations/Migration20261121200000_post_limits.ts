import { Migration } from '@mikro-orm/migrations';

/**
 * The limits the API enforces on a post, enforced by the table too, so no code path can store
 * what `createPost` would refuse; and the author index extended by `id`, the tie-breaker of
 * newest-first order, so an author's pages are read from the index alone. The limits are
 * written out, not imported: a migration is history and must not change when the code does.
 */
export class Migration20261121200000_post_limits extends Migration {
  override up(): void {
    this.addSql(`
      alter table "post"
        add constraint "post_title_length_check" check (char_length("title") between 1 and 200),
        add constraint "post_content_length_check" check (char_length("content") between 1 and 100000)`);
    this.addSql('drop index "post_author_id_created_at_idx"');
    this.addSql(
      'create index "post_author_id_created_at_id_idx" on "post" ("author_id", "created_at" desc, "id" desc)',
    );
  }

  override down(): void {
    this.addSql('drop index "post_author_id_created_at_id_idx"');
    this.addSql('create index "post_author_id_created_at_idx" on "post" ("author_id", "created_at" desc)');
    this.addSql(
      'alter table "post" drop constraint "post_content_length_check", drop constraint "post_title_length_check"',
    );
  }
}
