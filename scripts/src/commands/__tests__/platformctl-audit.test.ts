/** `platformctl audit verify | prune | grants` on a real audit chain (export and offline verification included). */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { ModuleRuntime } from '@platform/kernel';
import { createEvent, loadConfig, withModuleRuntime } from '@platform/kernel/testing';
import auditModule, { type AuditConfig, type AuditServices } from '@platform/audit';
import { platformctl, REPO, tempDir } from './platformctl-cli.js';

/**
 * audit in a private data directory and schema: the environment platformctl runs with, and the
 * module's runtime and services for writing and reading its records directly.
 */
function auditFixture() {
  const dataDir = tempDir('platformctl-audit-');
  const schema = `t_${randomBytes(4).toString('hex')}_audit`;
  const env = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    PLATFORM_ENV: 'test',
    PLATFORM_SERVICES__AUDIT__DB_SCHEMA: schema,
  };
  const config = loadConfig({ env: { ...process.env, ...env }, cwd: REPO });
  const inAudit = <T>(job: (runtime: ModuleRuntime<AuditConfig>, services: AuditServices) => Promise<T>) =>
    withModuleRuntime(auditModule, config, job);
  return { dataDir, schema, env, config, inAudit };
}

const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60 * 1000).toISOString();

describe('platformctl audit', () => {
  it('verifies the chain, prunes into an archive, and names the first broken record with exit 1', async () => {
    const { dataDir, schema, env, config, inAudit } = auditFixture();
    try {
      await inAudit(async (_runtime, services) => {
        for (const days of [60, 50, 40, 0]) {
          const event = createEvent('blog', 'blog.post.created', { postId: `post-${days}`, authorId: 'a' });
          await services.consumer.handle({ ...event, occurredAt: daysAgo(days) });
        }
      });

      const valid = await platformctl(['audit', 'verify'], env);
      expect(valid).toMatchObject({ code: 0, stdout: expect.stringContaining('audit chain valid: 4 records checked') });

      expect((await platformctl(['audit', 'prune'], env)).code).toBe(2); // no retention configured
      expect((await platformctl(['audit', 'prune', '--older-than-days', '0'], env)).code).toBe(2);
      const pruned = await platformctl(['audit', 'prune', '--older-than-days', '30'], env);
      expect(pruned).toMatchObject({ code: 0, stdout: expect.stringContaining('pruned 3 audit records') });
      expect(readdirSync(join(dataDir, 'audit', 'archive'))).toEqual([expect.stringMatching(/^audit-0+1-0+3\.jsonl$/)]);
      expect((await platformctl(['audit', 'verify'], env)).stdout).toContain(
        'audit chain valid: 1 records checked (from the checkpoint after record 3); signed up to record 3',
      );

      const tampered = await inAudit(async (runtime) => {
        const table = `"${schema}"."audit_event"`;
        return runtime.em().transactional(async (tx) => {
          await tx.execute(`alter table ${table} disable trigger user`);
          const [row] = await tx.execute<Array<{ id: string }>>(
            `update ${table} set target_id = 'someone-else' returning id`,
          );
          await tx.execute(`alter table ${table} enable trigger user`);
          return row!.id;
        });
      });
      const broken = await platformctl(['audit', 'verify'], env);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain('audit chain BROKEN (RECORD_CHANGED): record 4 does not match its hash');
      expect(broken.stdout).toContain(`first broken record (seq 4, id ${tampered})`);
      expect(broken.stdout).toContain('"targetId": "someone-else"');
    } finally {
      if (config.database.url) {
        await inAudit(async (runtime) => {
          await runtime.em().execute(`drop schema if exists "${schema}" cascade`);
        });
      }
    }
  }, 90_000);

  it('exports the chain and verifies the export offline, reports the oldest records deleted behind an unsigned checkpoint, prints the grants', async () => {
    const { dataDir, schema, env, config, inAudit } = auditFixture();
    const file = join(dataDir, 'export.jsonl');
    try {
      await inAudit(async (_runtime, services) => {
        for (const days of [60, 50, 40, 2, 1, 0]) {
          const event = createEvent('blog', 'blog.post.created', { postId: `post-${days}`, authorId: 'a' });
          await services.consumer.handle({ ...event, occurredAt: daysAgo(days) });
        }
      });
      expect((await platformctl(['audit', 'prune', '--older-than-days', '30'], env)).code).toBe(0);

      const exported = await platformctl(['audit', 'verify', '--export', file], env);
      expect(exported).toMatchObject({ code: 0 });
      expect(exported.stdout).toMatch(
        new RegExp(
          `exported 3 records, 1 checkpoints and 1 keys \\(head at record 6\\) to ${file}, sha256 [0-9a-f]{64}`,
        ),
      );
      // Offline: no database at all (this URL leads nowhere).
      const offline = { ...env, DATABASE_URL: 'postgres://nobody@127.0.0.1:9/nowhere' };
      const checked = await platformctl(['audit', 'verify', '--file', file], offline);
      expect(checked).toMatchObject({ code: 0 });
      expect(checked.stdout).toContain('(every key in the file: pin them with --trust)');
      expect(checked.stdout).toContain('audit chain valid: 3 records checked (from the checkpoint after record 3)');
      const kid = /keys accepted: ([\w-]{43})/.exec(checked.stdout)![1]!;
      expect((await platformctl(['audit', 'verify', '--file', file, '--trust', kid], offline)).code).toBe(0);
      const pinned = await platformctl(['audit', 'verify', '--file', file, '--trust', 'x'.repeat(43)], offline);
      expect(pinned.code).toBe(1);
      expect(pinned.stderr).toMatch(
        /audit chain BROKEN \(RECORDS_MISSING\): records 1 to 3 are missing: .*not among the trusted keys/,
      );
      expect(await platformctl(['audit', 'verify', '--file', join(dataDir, 'none.jsonl')], offline)).toMatchObject({
        code: 1,
        stderr: expect.stringContaining('is not a readable audit export'),
      });
      expect((await platformctl(['audit', 'verify', '--file', file, '--export', file], env)).code).toBe(2);

      // The finding: with write access to the tables, delete the oldest records behind an unsigned checkpoint.
      const next = await inAudit((runtime) =>
        runtime.em().transactional(async (tx) => {
          const events = `"${schema}"."audit_event"`;
          const [four] = await tx.execute<Array<{ hash: string }>>(`select hash from ${events} where seq = 4`);
          await tx.execute(
            `insert into "${schema}"."audit_checkpoint" (kind, seq, hash, first_seq, pruned) values ('prune', 4, ?, 4, 1)`,
            [four!.hash],
          );
          await tx.execute(`select set_config('audit.prune', 'on', true)`);
          await tx.execute(`delete from ${events} where seq = 4`);
          const [row] = await tx.execute<Array<{ id: string }>>(`select id from ${events} where seq = 5`);
          return row!.id;
        }),
      );
      const broken = await platformctl(['audit', 'verify'], env);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(
        /audit chain BROKEN \(RECORDS_MISSING\): records 4 to 4 are missing: the chain starts at record 5, after the prune checkpoint at record 4 .* it is unsigned/,
      );
      expect(broken.stdout).toContain(`first broken record (seq 5, id ${next})`);

      const grants = await platformctl(
        ['audit', 'grants', '--role', 'platform_audit', '--prune-role', 'platform_audit_prune'],
        env,
      );
      expect(grants.code).toBe(0);
      expect(grants.stdout).toContain(
        `grant execute on function "${schema}"."audit_chain_lock"(), "${schema}"."audit_append"(varchar, jsonb) to "platform_audit";`,
      );
      expect(grants.stdout).toContain(`grant delete on "${schema}"."audit_event" to "platform_audit_prune";`);
      expect(grants.stdout).not.toMatch(/grant [^;]*update[^;]*"audit_chain_head"/);
      expect((await platformctl(['audit', 'grants'], env)).code).toBe(2);
    } finally {
      if (config.database.url) {
        await inAudit(async (runtime) => {
          await runtime.em().execute(`drop schema if exists "${schema}" cascade`);
        });
      }
    }
  }, 120_000);
});
