import { Migration } from '@mikro-orm/migrations';

/**
 * Token signing keys, shared by every identity instance (they were files under each instance's
 * DATA_DIR). The private JWK is stored only as a JWE under the key-encryption key
 * (`modules.identity.keys.encryptionKey`), whose id is kept beside it for re-encryption; the
 * public JWK holds no private member. A key is published from `published_at`, signs from
 * `activates_at` until a newer key activates, and is deleted once retired for the retention.
 */
export class Migration20261212000000_signing_keys extends Migration {
  override up(): void {
    this.addSql(`
      create table "signing_key" (
        "kid" varchar(64) primary key,
        "public_jwk" jsonb not null check ("public_jwk" -> 'd' is null),
        "private_jwk_jwe" text not null,
        "kek_id" varchar(32) not null,
        "origin" varchar(16) not null check ("origin" in ('initial', 'scheduled', 'manual', 'imported')),
        "created_at" timestamptz not null,
        "activates_at" timestamptz not null,
        "published_at" timestamptz not null default now(),
        check ("activates_at" >= "created_at")
      )`);
  }

  override down(): void {
    this.addSql('drop table if exists "signing_key"');
  }
}
