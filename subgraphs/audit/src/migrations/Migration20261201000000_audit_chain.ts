import { Migration } from '@mikro-orm/migrations';

/**
 * The hash chain and its protection. Each record gets its position (`seq`, gapless), the id of
 * the event it records (unique: a redelivered event is never recorded twice) and when it was
 * stored. `audit_chain_head` holds the last position and hash: appends lock that row, so the
 * chain stays linear however many audit instances write. `audit_checkpoint` records where the
 * chain continues after old records were archived and pruned.
 *
 * Triggers make the tables append-only for every role, the owner included: UPDATE, DELETE and
 * TRUNCATE of records and checkpoints fail. The one exception is the prune job, which deletes
 * records already covered by a checkpoint inside a transaction that set `audit.prune = on`
 * (see retention/pruner.ts). The head may only move forward. Rows stored before this migration
 * (none outside tests: nothing recorded events before it) are numbered in time order and the
 * chain continues from the last one; `verifyAuditChain` reports them if they were not hashed
 * canonically.
 */
export class Migration20261201000000_audit_chain extends Migration {
  override up(): void {
    this.addSql(`
      alter table "audit_event"
        add column "seq" bigint null,
        add column "event_id" uuid null,
        add column "recorded_at" timestamptz not null default now(),
        alter column "action" type varchar(200)`);
    this.addSql(`
      update "audit_event" e set "seq" = n."rn"
      from (select "id", row_number() over (order by "occurred_at", "id") as "rn" from "audit_event") n
      where n."id" = e."id"`);
    this.addSql('alter table "audit_event" alter column "seq" set not null');
    this.addSql('create unique index "audit_event_seq_uidx" on "audit_event" ("seq")');
    this.addSql('create unique index "audit_event_event_id_uidx" on "audit_event" ("event_id")');
    this.addSql('drop index "audit_event_actor_id_idx"');
    this.addSql('create index "audit_event_actor_id_seq_idx" on "audit_event" ("actor_id", "seq")');
    this.addSql('create index "audit_event_action_seq_idx" on "audit_event" ("action" varchar_pattern_ops, "seq")');
    this.addSql('create index "audit_event_target_seq_idx" on "audit_event" ("target_type", "target_id", "seq")');

    this.addSql(`
      create table "audit_chain_head" (
        "id" smallint primary key check ("id" = 1),
        "seq" bigint not null,
        "hash" varchar(64) not null,
        "updated_at" timestamptz not null default now()
      )`);
    this.addSql(`
      insert into "audit_chain_head" ("id", "seq", "hash")
      select 1, coalesce(max("seq"), 0),
        coalesce((select "hash" from "audit_event" order by "seq" desc limit 1), repeat('0', 64))
      from "audit_event"`);

    this.addSql(`
      create table "audit_checkpoint" (
        "seq" bigint primary key,
        "hash" varchar(64) not null,
        "first_seq" bigint not null,
        "pruned" bigint not null,
        "archive" text null,
        "archive_sha256" varchar(64) null,
        "created_at" timestamptz not null default now(),
        "signature" varchar(64) null
      )`);

    // `set search_path from current` pins the module's schema (the migration runs in it), so the
    // function finds audit_checkpoint whatever the caller's search_path is.
    this.addSql(`
      create function "audit_append_only"() returns trigger
      language plpgsql
      set search_path from current
      as $$
      begin
        if tg_table_name = 'audit_event' and tg_op = 'DELETE' then
          if current_setting('audit.prune', true) = 'on'
             and old."seq" <= coalesce((select max(c."seq") from "audit_checkpoint" c), 0) then
            return old;
          end if;
        end if;
        raise exception '% is append-only: % is not allowed', tg_table_name, tg_op
          using errcode = '42501',
                hint = 'audit records leave only through the prune job, which archives them and writes a checkpoint';
      end;
      $$`);
    this.addSql(`
      create function "audit_chain_head_forward_only"() returns trigger
      language plpgsql
      as $$
      begin
        if tg_op = 'UPDATE' and new."seq" >= old."seq" then
          return new;
        end if;
        raise exception 'audit_chain_head only moves forward: % is not allowed', tg_op using errcode = '42501';
      end;
      $$`);
    for (const table of ['audit_event', 'audit_checkpoint']) {
      this.addSql(
        `create trigger "${table}_append_only" before update or delete on "${table}" ` +
          'for each row execute function "audit_append_only"()',
      );
      this.addSql(
        `create trigger "${table}_no_truncate" before truncate on "${table}" ` +
          'for each statement execute function "audit_append_only"()',
      );
    }
    this.addSql(
      'create trigger "audit_chain_head_forward_only" before update or delete on "audit_chain_head" ' +
        'for each row execute function "audit_chain_head_forward_only"()',
    );
    this.addSql(
      'create trigger "audit_chain_head_no_truncate" before truncate on "audit_chain_head" ' +
        'for each statement execute function "audit_chain_head_forward_only"()',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "audit_checkpoint"');
    this.addSql('drop table if exists "audit_chain_head"');
    this.addSql('drop trigger if exists "audit_event_append_only" on "audit_event"');
    this.addSql('drop trigger if exists "audit_event_no_truncate" on "audit_event"');
    this.addSql('drop function if exists "audit_append_only"()');
    this.addSql('drop function if exists "audit_chain_head_forward_only"()');
    this.addSql('drop index if exists "audit_event_target_seq_idx"');
    this.addSql('drop index if exists "audit_event_action_seq_idx"');
    this.addSql('drop index if exists "audit_event_actor_id_seq_idx"');
    this.addSql('create index "audit_event_actor_id_idx" on "audit_event" ("actor_id")');
    this.addSql(
      'alter table "audit_event" drop column "recorded_at", drop column "event_id", drop column "seq", ' +
        'alter column "action" type varchar(128)',
    );
  }
}
