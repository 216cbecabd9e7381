import { Migration } from '@mikro-orm/migrations';

/**
 * The kernel's event tables, in every module's schema: the transactional outbox and the
 * record of events already handled (for `handleOnce`).
 */
export class Migration20260101000000_kernel_events extends Migration {
  override up(): void {
    this.addSql(`
      create table "outbox" (
        "id" uuid primary key,
        "seq" bigint generated always as identity,
        "topic" varchar(200) not null,
        "source" varchar(100) not null,
        "payload" jsonb not null,
        "meta" jsonb not null,
        "occurred_at" timestamptz not null,
        "published_at" timestamptz null,
        "attempts" int not null default 0,
        "last_error" text null
      )`);
    this.addSql(
      'create index "outbox_unpublished_idx" on "outbox" ("occurred_at", "seq") where "published_at" is null',
    );
    this.addSql('create index "outbox_published_at_idx" on "outbox" ("published_at") where "published_at" is not null');
    this.addSql(`
      create table "processed_event" (
        "event_id" uuid not null,
        "handler" varchar(200) not null,
        "processed_at" timestamptz not null default now(),
        primary key ("event_id", "handler")
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists "processed_event"');
    this.addSql('drop table if exists "outbox"');
  }
}
