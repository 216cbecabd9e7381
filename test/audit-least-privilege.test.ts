import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { startSubgraph } from '@platform/kernel';
import { type SubgraphHandle, testConfig } from '@platform/kernel/testing';
import audit, { auditGrants, type AuditConfig, type AuditServices } from '@platform/audit';
import {
  event,
  newCallers,
  recordCount,
  startAudit,
  tablesOf,
  type AuditTestHandle,
} from '../subgraphs/audit/src/__tests__/start-audit.js';
import { chainHash } from '../subgraphs/audit/src/chain/canonical.js';
import { mapEvent } from '../subgraphs/audit/src/recording/event-mapping.js';

/**
 * The audit tables under the documented least-privilege grants (`auditGrants`, printed by
 * `platformctl audit grants`), with a real role: migrations ran as the owner, the service's role
 * may read, append through `audit_append()` and write checkpoints and keys, nothing else. On
 * PostgreSQL the role logs in over its own `pg` connection; on PGlite (one superuser process:
 * roles there protect nothing from the process itself) the same statements run under SET ROLE.
 */
type Run = (sql: string, params?: unknown[]) => Promise<Array<Record<string, unknown>>>;

describe('audit under a least-privilege role', () => {
  let handle: AuditTestHandle;
  const suffix = randomBytes(4).toString('hex');
  const role = `audit_service_${suffix}`;
  const pruneRole = `audit_prune_${suffix}`;
  let postgres: boolean;
  let url: URL | undefined;

  /** Runs `job` with statements executed as `who`, in one transaction. */
  async function asRole<T>(who: string, job: (run: Run) => Promise<T>): Promise<T> {
    if (postgres) {
      const client = new pg.Client({ connectionString: Object.assign(new URL(url!), { username: who }).toString() });
      await client.connect();
      try {
        await client.query('begin');
        const result = await job(async (sql, params = []) => {
          let n = 0;
          return (
            await client.query(
              sql.replace(/\?/g, () => `$${++n}`),
              params,
            )
          ).rows;
        });
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        throw error;
      } finally {
        await client.end();
      }
    }
    return handle.runtime.em().transactional(async (tx) => {
      await tx.execute(`set local role "${who}"`);
      return job((sql, params = []) => tx.execute(sql, params));
    });
  }

  beforeAll(async () => {
    handle = await startAudit(newCallers(), { modules: { audit: { checkpointIntervalSeconds: 0 } } });
    postgres = handle.runtime.db.kind === 'postgresql';
    url = postgres ? new URL(handle.runtime.platform.database.url!) : undefined;
    const em = handle.runtime.em();
    for (const name of [role, pruneRole]) await em.execute(`create role "${name}" ${postgres ? 'login' : 'nologin'}`);
    for (const statement of auditGrants({ schema: handle.runtime.db.schema, role, pruneRole })) {
      await em.execute(statement);
    }
    await handle.runtime.bus.publish([event('blog.post.created', { postId: randomUUID(), authorId: randomUUID() })]);
    await handle.services.recorder.append(
      mapEvent(event('blog.post.created', { postId: randomUUID(), authorId: randomUUID() })).draft,
    );
  });

  afterAll(async () => {
    if (!handle) return;
    await handle.stop();
    if (postgres) {
      const admin = new pg.Client({ connectionString: url!.toString() });
      await admin.connect();
      for (const name of [role, pruneRole]) {
        await admin.query(`drop owned by "${name}"`).catch(() => undefined);
        await admin.query(`drop role if exists "${name}"`);
      }
      await admin.end();
    }
  });

  const t = () => tablesOf(handle);

  it.each([
    ['rewrite the chain head', () => `update ${t().head} set hash = repeat('f', 64) where id = 1`],
    ['move the chain head', () => `update ${t().head} set seq = seq + 1 where id = 1`],
    ['lock the head row itself', () => `select * from ${t().head} for update`],
    [
      'insert a record beside the append function',
      () =>
        `insert into ${t().events} (id, seq, action, hash, occurred_at) values ('${randomUUID()}', 1000, 'x', repeat('0', 64), now())`,
    ],
    ['change a record', () => `update ${t().events} set action = 'x'`],
    ['delete a record', () => `delete from ${t().events}`],
    ['change a checkpoint', () => `update ${t().checkpoints} set hash = repeat('0', 64)`],
    ['remove a signing key', () => `delete from ${t().keys}`],
    ['disable the triggers', () => `alter table ${t().head} disable trigger user`],
  ])('cannot %s', async (_case, sql) => {
    await expect(asRole(role, (run) => run(sql()))).rejects.toThrow(/permission denied|must be owner/);
  });

  it('appends through audit_chain_lock() and audit_append(), which move the head', async () => {
    const before = await recordCount(handle);
    const appended = await asRole(role, async (run) => {
      const [head] = await run(`select head_seq::text as seq, head_hash as hash from ${t().lock}()`);
      const draft = mapEvent(event('blog.post.created', { postId: randomUUID(), authorId: randomUUID() })).draft;
      const unhashed = { ...draft, id: randomUUID(), seq: Number(head!.seq) + 1, recordedAt: new Date() };
      const record = { ...unhashed, hash: chainHash(head!.hash as string, unhashed) };
      await run(`select ${t().append}(?, ?::jsonb)`, [
        head!.hash,
        JSON.stringify({
          ...record,
          occurredAt: record.occurredAt.toISOString(),
          recordedAt: record.recordedAt.toISOString(),
        }),
      ]);
      const [moved] = await run(`select seq::text as seq, hash from ${t().head}`);
      return { record, moved };
    });
    expect(appended.moved).toEqual({ seq: String(appended.record.seq), hash: appended.record.hash });
    expect(await recordCount(handle)).toBe(before + 1);
    expect(await handle.services.verify()).toMatchObject({ valid: true });
  });

  it('cannot append after anything but the head', async () => {
    await expect(
      asRole(role, (run) =>
        run(`select ${t().append}(?, ?::jsonb)`, [
          '0'.repeat(64),
          JSON.stringify({
            id: randomUUID(),
            seq: 1,
            action: 'x',
            hash: '1'.repeat(64),
            occurredAt: new Date(),
            recordedAt: new Date(),
          }),
        ]),
      ),
    ).rejects.toThrow(/must follow the chain head/);
    expect(await handle.services.verify()).toMatchObject({ valid: true });
  });

  it('writes checkpoints and registers keys, which then stay as written', async () => {
    await asRole(role, async (run) => {
      await run(`insert into ${t().keys} (kid, public_key) values (?, ?::jsonb)`, [
        'k'.repeat(43),
        JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }),
      ]);
      await run(`insert into ${t().checkpoints} (kind, seq, hash, pruned) values ('periodic', 1, repeat('0', 64), 0)`);
    });
    // An unsigned checkpoint is exactly what verification reports.
    expect(await handle.services.verify()).toMatchObject({ valid: false, problem: 'CHECKPOINT_INVALID' });
    await expect(asRole(role, (run) => run(`delete from ${t().checkpoints}`))).rejects.toThrow(/permission denied/);
  });

  it('lets the prune role delete only what a prune checkpoint covers, and no temporary table fakes one', async () => {
    const attempt = (setup: string[]) =>
      asRole(pruneRole, async (run) => {
        for (const sql of setup) await run(sql);
        await run(`select set_config('audit.prune', 'on', true)`);
        await run(`delete from ${t().events} where seq = 1`);
      });
    await expect(attempt([])).rejects.toThrow(/append-only/);
    // A role that may create temporary tables shadows nothing inside the audit functions.
    await expect(
      attempt([
        `create temporary table audit_checkpoint (seq bigint, kind text)`,
        `insert into audit_checkpoint values (1000000, 'prune')`,
        `set local search_path = pg_temp, "${handle.runtime.db.schema}"`,
      ]),
    ).rejects.toThrow(/append-only/);
    await expect(asRole(role, (run) => run(`delete from ${t().events} where seq = 1`))).rejects.toThrow(
      /permission denied/,
    );
  });

  describe('the service itself, connected as that role (PostgreSQL)', () => {
    let service: SubgraphHandle<AuditConfig, AuditServices> | undefined;
    let cleanup: (() => Promise<void>) | undefined;

    afterAll(async () => {
      await service?.stop();
      await cleanup?.();
    });

    it('records, signs checkpoints and verifies with nothing more', async () => {
      if (!postgres) return; // PGlite has one user: the process.
      // The kernel issues `create schema if not exists` when it opens a database, which
      // PostgreSQL checks against CREATE on the database even when the schema exists.
      await handle.runtime.em().execute(`grant create on database "${url!.pathname.slice(1)}" to "${role}"`);
      const prepared = testConfig({
        database: { migrateOnStart: false },
        services: {
          audit: {
            port: 0,
            dbSchema: handle.runtime.db.schema,
            databaseUrl: Object.assign(new URL(url!), { username: role }).toString(),
          },
        },
        modules: { audit: { checkpointIntervalSeconds: 0 } },
      });
      cleanup = prepared.cleanup;
      service = await startSubgraph(audit, { config: prepared.config, port: 0 });
      const before = await recordCount(handle);
      const result = await service.services.recorder.append(
        mapEvent(event('blog.post.created', { postId: randomUUID(), authorId: randomUUID() })).draft,
      );
      expect(result.recorded).toBe(true);
      expect(await recordCount(handle)).toBe(before + 1);
      // The unsigned checkpoint of the test before is still there: verification says so, and the
      // service signs on top of the latest valid state regardless.
      expect(await service.services.checkpoints.publish({ force: true })).toMatchObject({ written: true });
      expect(await service.services.verify()).toMatchObject({ problem: 'CHECKPOINT_INVALID' });
    });
  });
});
