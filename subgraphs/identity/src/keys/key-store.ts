import type { EntityManager } from '@platform/kernel';
import type { PublicSigningJwk } from './key-material.js';

/** How a key came to be, for `platformctl keys list`. */
export type KeyOrigin = 'initial' | 'scheduled' | 'manual' | 'imported';

/** A row of `signing_key`; times in milliseconds since the epoch. */
export interface KeyRow {
  kid: string;
  publicJwk: PublicSigningJwk;
  /** The private JWK as a JWE under a key-encryption key (see KeyEncryption). */
  privateJwe: string;
  kekId: string;
  createdAt: number;
  /** From this time on, the key may sign (it is published from `publishedAt`). */
  activatesAt: number;
  /** When the row was written: imported keys signed tokens up to then, whatever their age. */
  publishedAt: number;
  origin: KeyOrigin;
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const ms = (column: string): string => `(extract(epoch from ${quote(column)}) * 1000)::float8 as ${quote(column)}`;
const at = 'to_timestamp(?::float8 / 1000)';

/** SQL over identity's `signing_key` table, schema-qualified (statements run on any EntityManager). */
export class KeyStore {
  readonly #table: string;

  constructor(schema: string) {
    this.#table = `${quote(schema)}."signing_key"`;
  }

  /** Every key, newest first. */
  async all(em: EntityManager): Promise<KeyRow[]> {
    const rows = await em.execute<Array<Record<string, unknown>>>(
      `select "kid", "public_jwk", "private_jwk_jwe", "kek_id", "origin",
        ${ms('created_at')}, ${ms('activates_at')}, ${ms('published_at')}
       from ${this.#table} order by "created_at" desc, "kid"`,
    );
    return rows.map((row) => ({
      kid: String(row.kid),
      publicJwk: (typeof row.public_jwk === 'string' ? JSON.parse(row.public_jwk) : row.public_jwk) as PublicSigningJwk,
      privateJwe: String(row.private_jwk_jwe),
      kekId: String(row.kek_id),
      createdAt: Math.round(Number(row.created_at)),
      activatesAt: Math.round(Number(row.activates_at)),
      publishedAt: Math.round(Number(row.published_at)),
      origin: row.origin as KeyOrigin,
    }));
  }

  /**
   * Takes the table's write lock until the transaction ends: whoever creates, imports or prunes
   * keys first holds it, and the others, waiting, then read what it wrote (READ COMMITTED reads
   * each statement's own snapshot). Readers are not blocked (SHARE ROW EXCLUSIVE conflicts only
   * with writers and itself). PGlite has one connection, so there it never waits.
   */
  async lock(tx: EntityManager): Promise<void> {
    await tx.execute(`lock table ${this.#table} in share row exclusive mode`, [], 'run');
  }

  /** Inserts a key; false when its kid is already there (an import run twice). */
  async insert(em: EntityManager, row: KeyRow): Promise<boolean> {
    const result = await em.execute<{ affectedRows: number }>(
      `insert into ${this.#table}
         ("kid", "public_jwk", "private_jwk_jwe", "kek_id", "origin", "created_at", "activates_at", "published_at")
       values (?, ?::jsonb, ?, ?, ?, ${at}, ${at}, ${at})
       on conflict ("kid") do nothing`,
      [
        row.kid,
        JSON.stringify(row.publicJwk),
        row.privateJwe,
        row.kekId,
        row.origin,
        row.createdAt,
        row.activatesAt,
        row.publishedAt,
      ],
      'run',
    );
    return result.affectedRows > 0;
  }

  /** Replaces a ciphertext written under `fromKekId`; a no-op when another instance did it first. */
  async reencrypt(em: EntityManager, kid: string, fromKekId: string, jwe: string, kekId: string): Promise<boolean> {
    const result = await em.execute<{ affectedRows: number }>(
      `update ${this.#table} set "private_jwk_jwe" = ?, "kek_id" = ? where "kid" = ? and "kek_id" = ?`,
      [jwe, kekId, kid, fromKekId],
      'run',
    );
    return result.affectedRows > 0;
  }

  /** Deletes keys; idempotent. */
  async delete(em: EntityManager, kids: string[]): Promise<number> {
    if (!kids.length) return 0;
    const result = await em.execute<{ affectedRows: number }>(
      `delete from ${this.#table} where "kid" in (${kids.map(() => '?').join(', ')})`,
      kids,
      'run',
    );
    return result.affectedRows;
  }
}
