import { Migration } from '@mikro-orm/migrations';

/**
 * The kernel's job tables, in every module's schema (the database backend of `runtime.jobs`, used
 * when no Redis is configured): the durable queue, and the schedules of `module.yaml` with the tick
 * each is due next, claimed by one instance per tick.
 */
export class Migration20261207100000_kernel_jobs extends Migration {
  override up(): void {
    this.addSql(`
      create table "kernel_job" (
        "id" uuid primary key,
        "queue" varchar(200) not null,
        "payload" jsonb not null,
        "state" varchar(16) not null default 'waiting',
        "idempotency_key" varchar(300) null,
        "attempts" int not null default 0,
        "max_attempts" int not null,
        "run_at" timestamptz not null,
        "locked_by" varchar(100) null,
        "locked_until" timestamptz null,
        "last_error" text null,
        "created_at" timestamptz not null default now(),
        "finished_at" timestamptz null,
        constraint "kernel_job_state_check" check ("state" in ('waiting', 'active', 'completed', 'dead'))
      )`);
    this.addSql(
      'create unique index "kernel_job_idempotency_idx" on "kernel_job" ("queue", "idempotency_key") where "idempotency_key" is not null',
    );
    this.addSql(
      `create index "kernel_job_due_idx" on "kernel_job" ("queue", "run_at") where "state" in ('waiting', 'active')`,
    );
    this.addSql(
      `create index "kernel_job_finished_idx" on "kernel_job" ("state", "finished_at") where "state" in ('completed', 'dead')`,
    );
    this.addSql(`
      create table "kernel_job_schedule" (
        "name" varchar(100) primary key,
        "cron" varchar(200) not null,
        "queue" varchar(200) not null,
        "next_run_at" timestamptz not null,
        "last_run_at" timestamptz null
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists "kernel_job_schedule"');
    this.addSql('drop table if exists "kernel_job"');
  }
}
