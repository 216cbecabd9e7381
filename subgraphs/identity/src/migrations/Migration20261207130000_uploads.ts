import { Migration } from '@mikro-orm/migrations';

/**
 * Uploads (issue 19): `upload`, each file a user was given an upload URL for, and
 * `user.avatar_key`, the stored avatar. Lapsed unattached uploads are found by `expires_at`.
 */
export class Migration20261207130000_uploads extends Migration {
  override up(): void {
    this.addSql(`
      create table "upload" (
        "id" uuid not null primary key,
        "owner_id" uuid not null,
        "purpose" varchar(20) not null,
        "key" varchar(600) not null,
        "content_type" varchar(100) not null,
        "byte_size" int not null,
        "expires_at" timestamptz not null,
        "attached_at" timestamptz null,
        "created_at" timestamptz not null
      )`);
    this.addSql('create index "upload_owner_id_index" on "upload" ("owner_id")');
    this.addSql(
      'create index "upload_unattached_expires_at_index" on "upload" ("expires_at") where "attached_at" is null',
    );
    this.addSql('alter table "user" add column "avatar_key" varchar(600) null');
  }

  override down(): void {
    this.addSql('alter table "user" drop column if exists "avatar_key"');
    this.addSql('drop table if exists "upload"');
  }
}
