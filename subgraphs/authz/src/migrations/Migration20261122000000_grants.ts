import { Migration } from '@mikro-orm/migrations';

/**
 * What roles grant, and which users authz knows. `admin` holds every permission through
 * `grants_all` rather than rows, so permissions of modules added later are its too. Existing
 * built-in roles get the grants a fresh install seeds.
 */
export class Migration20261122000000_grants extends Migration {
  override up(): void {
    this.addSql('alter table "role" add column "grants_all" boolean not null default false');
    this.addSql('alter table "role" add column "updated_at" timestamptz null');
    this.addSql(`update "role" set "grants_all" = true where "name" = 'admin' and "built_in"`);
    this.addSql(`
      create table "role_permission" (
        "role_id" uuid not null constraint "role_permission_role_id_foreign" references "role" ("id") on delete cascade,
        "permission" varchar(128) not null,
        "granted_at" timestamptz not null default now(),
        constraint "role_permission_pkey" primary key ("role_id", "permission")
      )`);
    this.addSql(`
      insert into "role_permission" ("role_id", "permission")
      select r."id", g."permission"
        from "role" r
        join (values
          ('user', 'blog.post.read'), ('user', 'blog.post.create'), ('user', 'blog.post.update'),
          ('user', 'blog.post.delete'), ('guest', 'blog.post.read')
        ) as g ("role", "permission") on g."role" = r."name"
       where r."built_in"
      on conflict do nothing`);
    // identity's users as authz learnt of them (from identity.user.created), so a role can only
    // be given to someone who exists. Everyone known so far holds at least the user role.
    this.addSql(`
      create table "known_user" (
        "user_id" uuid primary key,
        "known_since" timestamptz not null default now()
      )`);
    this.addSql(`
      insert into "known_user" ("user_id", "known_since")
      select "user_id", min("assigned_at") from "role_assignment" group by "user_id"`);
  }

  override down(): void {
    this.addSql('drop table if exists "known_user"');
    this.addSql('drop table if exists "role_permission"');
    this.addSql('alter table "role" drop column if exists "updated_at"');
    this.addSql('alter table "role" drop column if exists "grants_all"');
  }
}
