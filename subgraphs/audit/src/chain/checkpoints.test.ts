import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@platform/kernel/testing';
import { newCallers, startAudit, tablesOf, type AuditTestHandle } from '../__tests__/start-audit.js';
import { ExportFormatError, verifyExport } from './export-verifier.js';
import { CheckpointKeys, AUDIT_KEYS_PATH } from './checkpoint-keys.js';
import { CheckpointPublisher } from './checkpoint-publisher.js';
import { checkpointsNewestFirst } from './checkpoint.store.js';
import { GENERATED_KEY_FILE } from './signing-key.js';
import { appendRecords } from './__tests__/tamper-kit.js';

describe('audit checkpoints', () => {
  const callers = newCallers();
  let handle: AuditTestHandle;
  let dir: string;
  /** A second audit instance on the same database: its own data directory, its own key. */
  let other: { keys: CheckpointKeys; checkpoints: CheckpointPublisher };

  const checkpointCount = async () => {
    const [row] = await handle.runtime
      .em()
      .execute<Array<{ n: number }>>(`select count(*)::int as n from ${tablesOf(handle).checkpoints}`);
    return row!.n;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'audit-checkpoints-'));
    handle = await startAudit(callers, { modules: { audit: { checkpointIntervalSeconds: 60 } } });
    const keys = new CheckpointKeys({
      db: handle.runtime.db,
      configured: null,
      file: null,
      keyDir: join(dir, 'other', 'audit', 'keys'),
      trusted: null,
      hmacKey: null,
      trustUnsignedThrough: null,
      logger: handle.logger,
    });
    other = {
      keys,
      checkpoints: new CheckpointPublisher({ db: handle.runtime.db, keys, intervalSeconds: 60, logger: handle.logger }),
    };
  });

  afterAll(async () => {
    await handle?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the signing key', () => {
    it('is generated on first start under DATA_DIR/audit/keys, owner-only', async () => {
      const key = await handle.services.keys.own();
      expect(key).toMatchObject({ source: 'generated' });
      expect(key.file).toBe(join(handle.runtime.platform.dataDir, 'audit', 'keys', GENERATED_KEY_FILE));
      expect(statSync(key.file!).mode & 0o777).toBe(0o600);
    });

    it('is registered by its public half only: the private key is nowhere in the database', async () => {
      const key = await handle.services.keys.own();
      const d = (key.privateKey.export({ format: 'jwk' }) as { d: string }).d;
      const pem = readFileSync(key.file!, 'utf8').split('\n')[1]!;
      const em = handle.runtime.em();
      const [row] = await em.execute<Array<{ public_key: unknown }>>(
        `select public_key from ${tablesOf(handle).keys} where kid = ?`,
        [key.kid],
      );
      const stored = typeof row!.public_key === 'string' ? JSON.parse(row!.public_key) : row!.public_key;
      expect(stored).toEqual(key.publicJwk);
      const schema = handle.runtime.db.schema;
      const tables = await em.execute<Array<{ table_name: string }>>(
        `select table_name from information_schema.tables where table_schema = ?`,
        [schema],
      );
      for (const { table_name } of tables) {
        const [dump] = await em.execute<Array<{ text: string | null }>>(
          `select string_agg(t::text, '\n') as text from "${schema}"."${table_name}" t`,
        );
        expect(dump!.text ?? '').not.toContain(d);
        expect(dump!.text ?? '').not.toContain(pem);
      }
    });

    it('refuses a private JWK in the key table', async () => {
      await expect(
        handle.runtime
          .em()
          .execute(`insert into ${tablesOf(handle).keys} (kid, public_key) values ('x', ?::jsonb)`, [
            JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'a', d: 'b' }),
          ]),
      ).rejects.toThrow(/check constraint/);
    });
  });

  describe('periodic checkpoints', () => {
    it('signs nothing while nothing was appended', async () => {
      expect(await handle.services.checkpoints.publish()).toEqual({ written: false, why: 'unchanged' });
      expect(await checkpointCount()).toBe(0);
    });

    it('signs the chain head once records were appended, once per period, and not again without news', async () => {
      const records = await appendRecords(handle, 3);
      const result = await handle.services.checkpoints.publish();
      const { kid } = await handle.services.keys.own();
      expect(result).toMatchObject({
        written: true,
        checkpoint: { kind: 'periodic', seq: 3, hash: records[2]!.hash, keyId: kid, firstSeq: null, pruned: 0 },
      });
      expect(await handle.services.checkpoints.publish()).toEqual({ written: false, why: 'unchanged' });
      await appendRecords(handle, 1);
      expect(await handle.services.checkpoints.publish()).toEqual({ written: false, why: 'recent' });
      // Another instance, within the same period, signs nothing either.
      expect(await other.checkpoints.publish()).toEqual({ written: false, why: 'recent' });
      expect(await checkpointCount()).toBe(1);
    });

    it("lets every instance verify every other instance's checkpoints", async () => {
      const result = await other.checkpoints.publish({ force: true });
      const theirs = await other.keys.own();
      expect(result).toMatchObject({ written: true, checkpoint: { seq: 4, keyId: theirs.kid } });
      const ours = await handle.services.keys.own();
      expect(theirs.kid).not.toBe(ours.kid);
      const report = await handle.services.verify();
      expect(report).toMatchObject({ valid: true, checked: 4, latestCheckpoint: { seq: 4, signer: theirs.kid } });
      expect(report.signers.sort()).toEqual([ours.kid, theirs.kid].sort());
    });

    it('are signed again once a shorter period has passed', async () => {
      const quick = new CheckpointPublisher({
        db: handle.runtime.db,
        keys: handle.services.keys,
        intervalSeconds: 1,
        logger: handle.logger,
      });
      await appendRecords(handle, 2);
      await waitFor(async () => (await quick.publish()).written);
      expect(await handle.services.verify()).toMatchObject({ valid: true, latestCheckpoint: { seq: 6 } });
    });

    it('are signed by the job the `checkpoint` schedule runs, once per deployment per tick', async () => {
      expect(handle.runtime.manifest.schedules).toContainEqual(
        expect.objectContaining({ name: 'checkpoint', handler: 'sign-checkpoint' }),
      );
      const quick = await startAudit(callers, { modules: { audit: { checkpointIntervalSeconds: 1 } } });
      try {
        await appendRecords(quick, 2);
        await quick.runtime.jobs.enqueue('sign-checkpoint', {});
        await waitFor(async () => (await checkpointsNewestFirst(quick.runtime.em(), tablesOf(quick), 1))[0]?.seq === 2);
        expect(await quick.services.verify()).toMatchObject({ valid: true, latestCheckpoint: { seq: 2 } });
      } finally {
        await quick.stop();
      }
    });
  });

  describe(`GET ${AUDIT_KEYS_PATH}`, () => {
    it('lists every trusted public key, JWKS-like, for anyone', async () => {
      const response = await fetch(new URL(AUDIT_KEYS_PATH, handle.url));
      expect(response.status).toBe(200);
      const body = (await response.json()) as { keys: Array<Record<string, unknown>> };
      const kids = [(await handle.services.keys.own()).kid, (await other.keys.own()).kid];
      expect(body.keys.map((key) => key.kid).sort()).toEqual(kids.sort());
      for (const key of body.keys) {
        expect(key).toEqual({
          kty: 'OKP',
          crv: 'Ed25519',
          x: expect.stringMatching(/^[\w-]{43}$/),
          kid: expect.any(String),
          alg: 'EdDSA',
          use: 'sig',
          createdAt: expect.any(String),
        });
      }
    });
  });

  describe('exports', () => {
    let file: string;
    let lines: string[];
    const variant = (name: string, edit: (lines: string[]) => string[]): string => {
      const path = join(dir, name);
      writeFileSync(path, `${edit([...lines]).join('\n')}\n`);
      return path;
    };
    /** Rewrites the end line's counts to match an edited file, as a careful forger would. */
    const recount = (edited: string[]): string[] => {
      const parsed = edited.map((line) => JSON.parse(line) as { type: string });
      const count = (type: string) => parsed.filter((line) => line.type === type).length;
      edited[edited.length - 1] = JSON.stringify({
        type: 'end',
        records: count('record'),
        checkpoints: count('checkpoint'),
        keys: count('key'),
      });
      return edited;
    };

    beforeAll(async () => {
      await appendRecords(handle, 2);
      file = join(dir, 'export.jsonl');
      const summary = await handle.services.exportTo(file);
      expect(summary).toMatchObject({ file, records: 8, checkpoints: 3, keys: 2, head: { seq: 8 } });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    });

    it('holds a header, the keys, checkpoints after their records, and an end line', () => {
      const types = lines.map((line) => (JSON.parse(line) as { type: string }).type);
      expect(types[0]).toBe('audit-export');
      expect(types.slice(1, 3)).toEqual(['key', 'key']);
      expect(types.at(-1)).toBe('end');
      const body = lines.slice(3, -1).map((line) => JSON.parse(line) as { type: string; seq: number });
      expect(body.map((line) => `${line.type[0]}${line.seq}`)).toEqual([
        'r1',
        'r2',
        'r3',
        'c3',
        'r4',
        'c4',
        'r5',
        'r6',
        'c6',
        'r7',
        'r8',
      ]);
      expect(lines.join('\n')).not.toMatch(/"d":/);
    });

    it('verifies offline, without a database', async () => {
      expect(await verifyExport(file)).toMatchObject({ valid: true, checked: 8, head: { seq: 8 } });
    });

    it.each([
      [
        'a changed record',
        (l: string[]) =>
          l.map((line) =>
            line.includes('"seq":5,') ? line.replace(/"targetType":"post"/, '"targetType":"user"') : line,
          ),
        { problem: 'RECORD_CHANGED', firstBrokenSeq: 5 },
      ],
      [
        'the oldest records cut out',
        (l: string[]) =>
          recount(l.filter((line) => !(line.includes('"type":"record"') && /"seq":[12][,}]/.test(line)))),
        { problem: 'RECORDS_MISSING', firstBrokenSeq: 3, reason: expect.stringMatching(/records 1 to 2 are missing/) },
      ],
      [
        'a rewritten head',
        (l: string[]) => [l[0]!.replace(/"hash":"[0-9a-f]{64}"/, `"hash":"${'e'.repeat(64)}"`), ...l.slice(1)],
        { problem: 'HEAD_CHANGED', firstBrokenId: null },
      ],
      [
        'the tail cut behind the last checkpoint, head edited to match',
        (l: string[]) => {
          const kept = l.filter((line) => !(line.includes('"type":"record"') && /"seq":[5-8][,}]/.test(line)));
          const four = JSON.parse(
            kept.find((line) => line.includes('"type":"record"') && /"seq":4[,}]/.test(line))!,
          ) as { hash: string };
          const header = JSON.parse(kept[0]!) as Record<string, unknown>;
          kept[0] = JSON.stringify({ ...header, head: { seq: 4, hash: four.hash } });
          return recount(kept);
        },
        { problem: 'TAIL_MISSING', firstBrokenSeq: 5 },
      ],
    ])('finds %s', async (name, edit, expected) => {
      expect(await verifyExport(variant(`${name}.jsonl`, edit))).toMatchObject({ valid: false, ...expected });
    });

    it('accepts only the pinned keys when told which', async () => {
      const ours = (await handle.services.keys.own()).kid;
      expect(await verifyExport(file, { trusted: [ours] })).toMatchObject({
        valid: false,
        problem: 'CHECKPOINT_INVALID',
        reason: expect.stringMatching(/not among the trusted keys/),
      });
    });

    it.each([
      ['cut short', (l: string[]) => l.slice(0, -2), /no end line/],
      [
        'with a line removed but the counts kept',
        (l: string[]) => [...l.slice(0, 4), ...l.slice(5)],
        /the end line counts/,
      ],
      ['not JSON', (l: string[]) => [l[0]!, '{', ...l.slice(1)], /line 2: not JSON/],
      ['without its header', (l: string[]) => l.slice(1), /line 1: the first line is not an audit-export header/],
    ])('refuses a file %s', async (name, edit, message) => {
      const promise = verifyExport(variant(`${name}.jsonl`, edit));
      await expect(promise).rejects.toThrow(ExportFormatError);
      await expect(verifyExport(variant(`${name}.jsonl`, edit))).rejects.toThrow(message);
    });
  });
});
