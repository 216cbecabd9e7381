import { Migration } from '@mikro-orm/migrations';

/**
 * Outbox rows a process claims when it records them: it publishes them itself right after its
 * commit, and relays (its own polls, other replicas) leave them alone until `claimed_until` passes,
 * then publish them as any other unpublished row (the process died before it could).
 */
export class Migration20261122000000_outbox_claims extends Migration {
  override up(): void {
    this.addSql('alter table "outbox" add column "claimed_until" timestamptz null');
  }

  override down(): void {
    this.addSql('alter table "outbox" drop column if exists "claimed_until"');
  }
}
