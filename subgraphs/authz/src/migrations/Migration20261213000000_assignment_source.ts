import { Migration } from '@mikro-orm/migrations';

/**
 * Where an assignment came from (issue 21): null when someone (or the platform) assigned it;
 * `provider:<id>` when an external sign-in provider's claims gave it, so the next sign-in with
 * that provider can take back what its claims no longer give, and only that.
 */
export class Migration20261213000000_assignment_source extends Migration {
  override up(): void {
    this.addSql('alter table "role_assignment" add column "source" varchar(60) null');
  }

  override down(): void {
    this.addSql('alter table "role_assignment" drop column "source"');
  }
}
