import { Migration } from '@mikro-orm/migrations';

/** Recent revocations are read by every service that starts (GET /internal/revocations). */
export class Migration20261122000000_revocation_indexes extends Migration {
  override up(): void {
    this.addSql('create index "session_revoked_at_idx" on "session" ("revoked_at") where "revoked_at" is not null');
    this.addSql('create index "user_deleted_at_idx" on "user" ("deleted_at") where "deleted_at" is not null');
  }

  override down(): void {
    this.addSql('drop index if exists "user_deleted_at_idx"');
    this.addSql('drop index if exists "session_revoked_at_idx"');
  }
}
