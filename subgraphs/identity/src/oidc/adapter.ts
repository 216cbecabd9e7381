import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { EntityManager } from '@platform/kernel';
import { clientMetadata, OAuthClientStore } from './client-store.js';

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** identity's database as the adapter needs it: a fresh EntityManager per call, the schema to qualify tables. */
export interface AdapterDatabase {
  fork(): EntityManager;
  schema: string;
}

/**
 * oidc-provider's storage on identity's database (table `oidc_payload`), so every identity
 * instance sees the same sessions, interactions, grants, codes and refresh tokens: a code issued
 * by one instance is redeemed at another, a refresh token consumed on one is consumed for all.
 * Clients (`Client`) are read from `oauth_client`, managed through GraphQL.
 */
export function oidcAdapter(db: AdapterDatabase): new (name: string) => Adapter {
  const table = `${quote(db.schema)}."oidc_payload"`;
  const clients = new OAuthClientStore(db.schema);

  return class DatabaseAdapter implements Adapter {
    constructor(private readonly model: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : null;
      await db.fork().execute(
        `insert into ${table} ("model", "id", "payload", "grant_id", "user_code", "uid", "expires_at")
         values (?, ?, ?::jsonb, ?, ?, ?, case when ?::float8 is null then null else to_timestamp(?::float8 / 1000) end)
         on conflict ("model", "id") do update set "payload" = excluded."payload", "grant_id" = excluded."grant_id",
           "user_code" = excluded."user_code", "uid" = excluded."uid", "expires_at" = excluded."expires_at"`,
        [
          this.model,
          id,
          JSON.stringify(payload),
          payload.grantId ?? null,
          payload.userCode ?? null,
          payload.uid ?? null,
          expiresAt,
          expiresAt,
        ],
        'run',
      );
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') {
        const client = await clients.find(db.fork(), id);
        return client ? clientMetadata(client) : undefined;
      }
      return this.findBy('id', id);
    }

    findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.findBy('uid', uid);
    }

    findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.findBy('user_code', userCode);
    }

    async consume(id: string): Promise<void> {
      await db
        .fork()
        .execute(
          `update ${table} set "consumed_at" = now() where "model" = ? and "id" = ? and "consumed_at" is null`,
          [this.model, id],
          'run',
        );
    }

    async destroy(id: string): Promise<void> {
      await db.fork().execute(`delete from ${table} where "model" = ? and "id" = ?`, [this.model, id], 'run');
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db
        .fork()
        .execute(`delete from ${table} where "model" = ? and "grant_id" = ?`, [this.model, grantId], 'run');
    }

    private async findBy(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
      const [row] = await db.fork().execute<Array<{ payload: unknown; consumed: number | null }>>(
        `select "payload", (extract(epoch from "consumed_at"))::float8 as "consumed" from ${table}
         where "model" = ? and ${quote(column)} = ? and ("expires_at" is null or "expires_at" > now())`,
        [this.model, value],
      );
      if (!row) return undefined;
      const payload = (typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload) as AdapterPayload;
      return row.consumed === null || row.consumed === undefined
        ? payload
        : { ...payload, consumed: Math.floor(Number(row.consumed)) };
    }
  };
}

/** Deletes expired rows; the `delete-expired-credentials` schedule's share of OIDC. */
export async function deleteExpiredOidcPayloads(em: EntityManager, schema: string): Promise<number> {
  const result = await em.execute<{ affectedRows: number }>(
    `delete from ${quote(schema)}."oidc_payload" where "expires_at" < now()`,
    [],
    'run',
  );
  return result.affectedRows;
}
