import { Migration } from '@mikro-orm/migrations';

export class Migration20261121000000_audit_events extends Migration {
  override up(): void {
    this.addSql(`
      create table "audit_event" (
        "id" uuid primary key,
        "action" varchar(128) not null,
        "actor_id" uuid null,
        "target_type" varchar(64) null,
        "target_id" varchar(128) null,
        "metadata" jsonb not null default '{}',
        "request_id" varchar(128) null,
        "trace_id" varchar(32) null,
        "ip" varchar(64) null,
        "user_agent" text null,
        "occurred_at" timestamptz not null default now(),
        "hash" varchar(64) not null
      )`);
    this.addSql('create index "audit_event_occurred_at_id_idx" on "audit_event" ("occurred_at" desc, "id" desc)');
    this.addSql('create index "audit_event_actor_id_idx" on "audit_event" ("actor_id")');
  }

  override down(): void {
    this.addSql('drop table if exists "audit_event"');
  }
}
