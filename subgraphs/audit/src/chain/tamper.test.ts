import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  event,
  newCallers,
  recordCount,
  startAudit,
  tablesOf,
  type AuditTestHandle,
} from '../__tests__/start-audit.js';
import { chainHash, type ChainRecord } from './canonical.js';
import { verifyChain } from './chain-verifier.js';
import { ChainHeadError } from './chain.store.js';
import { CheckpointTrust, signCheckpoint } from './checkpoint-signature.js';
import { registerKey, registeredKeys } from './key.store.js';
import { appendRecords, asSuperuser, snapshot, verifyAs } from './__tests__/tamper-kit.js';
import { testKey } from './__tests__/chain-fixtures.js';

/**
 * Each way of tampering with the chain that issue 25 names, done to a real database as an
 * attacker would, and what verifyAuditChain then reports. The chain: records 1-10, signed
 * periodic checkpoints at 4 and 8 (records 9 and 10 came after the latest checkpoint).
 */
describe('audit chain tampering', () => {
  const callers = newCallers();
  let handle: AuditTestHandle;
  let records: ChainRecord[];
  let saved: { restore(): Promise<void> };
  const rec = (seq: number): ChainRecord => records[seq - 1]!;
  const verify = () => verifyAs(handle, callers.auditor);
  const t = () => tablesOf(handle);

  beforeAll(async () => {
    handle = await startAudit(callers, { modules: { audit: { checkpointIntervalSeconds: 0 } } });
    records = await appendRecords(handle, 4);
    expect(await handle.services.checkpoints.publish()).toMatchObject({ written: true, checkpoint: { seq: 4 } });
    records.push(...(await appendRecords(handle, 4)));
    expect(await handle.services.checkpoints.publish({ force: true })).toMatchObject({ written: true });
    records.push(...(await appendRecords(handle, 2)));
    saved = await snapshot(handle);
  });

  afterEach(async () => {
    await saved.restore();
    expect(await verify()).toMatchObject({ valid: true, checked: 10, latestCheckpointSeq: 8 });
  });

  afterAll(async () => {
    await handle?.stop();
  });

  it('is intact to start with, signed up to record 8', async () => {
    expect(await verify()).toMatchObject({
      valid: true,
      checked: 10,
      problem: null,
      latestCheckpointSeq: 8,
      latestCheckpointAt: expect.any(String),
    });
  });

  describe('deleting the oldest records', () => {
    /** What the finding did: write access to the tables, the prune door, an unsigned checkpoint. */
    const deleteOldestBehind = async (checkpoint: {
      keyId: string | null;
      signature: string | null;
      createdAt?: Date;
    }) => {
      await handle.runtime.em().transactional(async (tx) => {
        await tx.execute(
          `insert into ${t().checkpoints} (kind, seq, hash, first_seq, pruned, key_id, signature, created_at)
           values ('prune', 3, ?, 1, 3, ?, ?, ?::timestamptz)`,
          [rec(3).hash, checkpoint.keyId, checkpoint.signature, (checkpoint.createdAt ?? new Date()).toISOString()],
        );
        await tx.execute(`select set_config('audit.prune', 'on', true)`);
        await tx.execute(`delete from ${t().events} where seq <= 3`);
      });
      expect(await recordCount(handle)).toBe(7);
    };

    it('behind an unsigned checkpoint: reported, the first remaining record named (was: valid)', async () => {
      await deleteOldestBehind({ keyId: null, signature: null });
      expect(await verify()).toMatchObject({
        valid: false,
        problem: 'RECORDS_MISSING',
        firstBrokenId: rec(4).id,
        firstBrokenSeq: 4,
        reason: expect.stringMatching(/^records 1 to 3 are missing: .*prune checkpoint at record 3 .*it is unsigned$/),
      });
    });

    it('behind a checkpoint signed with a key no instance registered', async () => {
      const forged = signCheckpoint(
        {
          kind: 'prune',
          seq: 3,
          hash: rec(3).hash,
          firstSeq: 1,
          pruned: 3,
          archive: null,
          archiveSha256: null,
          createdAt: new Date(),
        },
        testKey(),
      );
      await deleteOldestBehind(forged);
      expect(await verify()).toMatchObject({
        problem: 'RECORDS_MISSING',
        firstBrokenId: rec(4).id,
        reason: expect.stringMatching(/not a registered checkpoint key/),
      });
    });

    it('behind a checkpoint with a bad signature by our own key', async () => {
      const { kid } = await handle.services.keys.own();
      await deleteOldestBehind({ keyId: kid, signature: 'A'.repeat(86) });
      expect(await verify()).toMatchObject({
        problem: 'RECORDS_MISSING',
        firstBrokenId: rec(4).id,
        reason: expect.stringMatching(new RegExp(`signature does not verify with key ${kid}`)),
      });
    });

    it('behind a checkpoint signed with a key the attacker registered: caught only where the keys are pinned', async () => {
      const attacker = testKey();
      const em = handle.runtime.em();
      await registerKey(em, t(), attacker.kid, attacker.publicJwk);
      const forged = signCheckpoint(
        {
          kind: 'prune',
          seq: 3,
          hash: rec(3).hash,
          firstSeq: 1,
          pruned: 3,
          archive: null,
          archiveSha256: null,
          createdAt: new Date(),
        },
        attacker,
      );
      await deleteOldestBehind(forged);
      // Trusting every registered key (the default) trusts the attacker's too: the documented limit.
      expect(await verify()).toMatchObject({ valid: true });
      const { kid } = await handle.services.keys.own();
      const pinned = new CheckpointTrust({ keys: await registeredKeys(em, t()), trusted: [kid] });
      expect(await verifyChain(em, t(), pinned)).toMatchObject({
        valid: false,
        problem: 'RECORDS_MISSING',
        firstBrokenId: rec(4).id,
        reason: expect.stringMatching(/not among the trusted keys/),
      });
    });

    it('without any checkpoint (as a superuser)', async () => {
      await asSuperuser(handle, [[`delete from ${t().events} where seq <= 3`]]);
      expect(await verify()).toMatchObject({
        problem: 'RECORDS_MISSING',
        firstBrokenId: rec(4).id,
        reason: expect.stringMatching(/records 1 to 3 are missing: the chain starts at record 4/),
      });
    });
  });

  describe('forged checkpoints', () => {
    it('an inserted periodic checkpoint with a bad signature is reported as the checkpoint, no record blamed', async () => {
      const { kid } = await handle.services.keys.own();
      await handle.runtime
        .em()
        .execute(
          `insert into ${t().checkpoints} (kind, seq, hash, pruned, key_id, signature) values ('periodic', 6, ?, 0, ?, ?)`,
          [rec(6).hash, kid, 'B'.repeat(86)],
        );
      expect(await verify()).toMatchObject({
        valid: false,
        problem: 'CHECKPOINT_INVALID',
        firstBrokenId: null,
        reason: expect.stringMatching(
          /periodic checkpoint at record 6 .* not validly signed: its signature does not verify/,
        ),
      });
      // The publisher builds on the latest checkpoint that verifies, not on the forged one.
      await appendRecords(handle, 1);
      expect(await handle.services.checkpoints.publish({ force: true })).toMatchObject({
        written: true,
        checkpoint: { seq: 11 },
      });
    });

    it('a checkpoint past the end with a garbage key id', async () => {
      await handle.runtime
        .em()
        .execute(
          `insert into ${t().checkpoints} (kind, seq, hash, pruned, key_id, signature) values ('periodic', 99, ?, 0, 'nobody', 'x')`,
          ['0'.repeat(64)],
        );
      expect(await verify()).toMatchObject({ problem: 'CHECKPOINT_INVALID', firstBrokenId: null });
    });
  });

  describe('editing the chain head', () => {
    it('is refused to every role with the triggers on, the owner included', async () => {
      await expect(
        handle.runtime.em().execute(`update ${t().head} set hash = ? where id = 1`, ['f'.repeat(64)]),
      ).rejects.toThrow(/only moves forward, to a stored record/);
      await expect(
        handle.runtime.em().execute(`update ${t().head} set seq = 11, hash = ? where id = 1`, ['f'.repeat(64)]),
      ).rejects.toThrow(/only moves forward, to a stored record/);
    });

    it('rewritten as a superuser: the head is reported, and no innocent record is appended after it', async () => {
      const forged = 'f'.repeat(64);
      await asSuperuser(handle, [[`update ${t().head} set hash = ? where id = 1`, [forged]]]);
      const report = {
        valid: false,
        problem: 'HEAD_CHANGED',
        firstBrokenId: null,
        firstBrokenSeq: null,
        reason: `the chain head was changed: it names hash ${forged} for record 10, whose hash is ${rec(10).hash}; the record matches its hash and the chain before it`,
      };
      expect(await verify()).toMatchObject(report);

      // Before, the next record was chained from the forged hash, and verification blamed it.
      await expect(appendRecords(handle, 1)).rejects.toThrow(ChainHeadError);
      // Delivered events fail (and are retried by the bus), logged as an error each time.
      await expect(
        handle.services.consumer.handle(event('blog.post.created', { postId: randomUUID(), authorId: randomUUID() })),
      ).rejects.toThrow(ChainHeadError);
      await expect(appendRecords(handle, 1)).rejects.toThrow(
        /audit chain head does not match the chain: it names record 10/,
      );
      expect(await recordCount(handle)).toBe(10);
      expect(await handle.services.checkpoints.publish({ force: true })).toMatchObject({
        written: false,
        why: 'refused',
      });
      expect(await verify()).toMatchObject(report);
    });

    it('restored, appends continue and the next record fits', async () => {
      await asSuperuser(handle, [[`update ${t().head} set hash = ? where id = 1`, ['f'.repeat(64)]]]);
      await asSuperuser(handle, [[`update ${t().head} set hash = ? where id = 1`, [rec(10).hash]]]);
      const [next] = await appendRecords(handle, 1);
      expect(next!.hash).toBe(chainHash(rec(10).hash, next!));
      expect(await verify()).toMatchObject({ valid: true, checked: 11 });
    });
  });

  describe('truncating the tail', () => {
    it('past the latest checkpoint, head moved back with it: the checkpoint names what the chain no longer reaches', async () => {
      await asSuperuser(handle, [
        [`delete from ${t().events} where seq >= 7`],
        [`update ${t().head} set seq = 6, hash = ? where id = 1`, [rec(6).hash]],
      ]);
      expect(await verify()).toMatchObject({
        valid: false,
        problem: 'TAIL_MISSING',
        firstBrokenId: null,
        firstBrokenSeq: 7,
        reason: expect.stringMatching(
          new RegExp(
            `^records 7 to 8 are missing from the end: the periodic checkpoint at record 8 .* names record 8 with hash ${rec(8).hash}, which the chain no longer reaches`,
          ),
        ),
      });
    });

    it('records deleted from the end, head left: reported, and nothing is appended after the hole', async () => {
      await asSuperuser(handle, [[`delete from ${t().events} where seq >= 9`]]);
      expect(await verify()).toMatchObject({
        problem: 'TAIL_MISSING',
        firstBrokenSeq: 9,
        reason: expect.stringMatching(/^records 9 to 10 are missing from the end: the chain head names record 10$/),
      });
      await expect(appendRecords(handle, 1)).rejects.toThrow(
        /names record 10 with hash .*, the chain has no such record/,
      );
    });

    it('after the latest checkpoint, within one period, head moved back too: not detectable (documented)', async () => {
      await asSuperuser(handle, [
        [`delete from ${t().events} where seq >= 9`],
        [`update ${t().head} set seq = 8, hash = ? where id = 1`, [rec(8).hash]],
      ]);
      expect(await verify()).toMatchObject({ valid: true, checked: 8, latestCheckpointSeq: 8 });
    });
  });

  describe('rewriting records with every later hash (as a superuser)', () => {
    it('is caught by the next signed checkpoint, naming the first record it could have touched', async () => {
      let previous = rec(4).hash;
      const statements: Array<[string, unknown[]]> = [];
      for (const original of records.slice(4)) {
        const changed = original.seq === 6 ? { ...original, targetId: 'someone-else' } : original;
        const hash = chainHash(previous, changed);
        statements.push([
          `update ${t().events} set target_id = ?, hash = ? where id = ?`,
          [changed.targetId, hash, original.id],
        ]);
        previous = hash;
      }
      statements.push([`update ${t().head} set hash = ? where id = 1`, [previous]]);
      await asSuperuser(handle, statements);
      expect(await verify()).toMatchObject({
        valid: false,
        problem: 'CHECKPOINT_MISMATCH',
        firstBrokenId: rec(5).id,
        firstBrokenSeq: 5,
        reason: expect.stringMatching(/records from 5 to 8 were rewritten with their hashes/),
      });
    });
  });
});
