import { describe, expect, it } from '@jest/globals';
import { GENESIS_HASH } from './canonical.js';
import { legacyHmac } from './checkpoint-signature.js';
import type { Checkpoint } from './checkpoint.store.js';
import { chainOf, check, known, periodic, pruned, rehash, testKey, type Scenario } from './__tests__/chain-fixtures.js';

const ours = testKey();
const theirs = testKey(); // another audit instance, registered
const stranger = testKey(); // a key nobody registered
const trust = { keys: [known(ours), known(theirs)], trusted: null };
const chain = chainOf(10);
const at = (seq: number) => chain[seq - 1]!;
const from = (seq: number) => chain.filter((r) => r.seq >= seq);
const HMAC_KEY = 'legacy-hmac-key-for-tests-0123456789abcdef';

type Expected = Partial<{
  problem: string | null;
  firstBrokenSeq: number | null;
  /** The seq of the record that should be named, or null for none. */
  named: number | null;
  reason: RegExp;
  valid: boolean;
}>;

const cases: Array<[string, Scenario, Expected]> = [
  [
    'an intact chain with checkpoints by two instances',
    { records: chain, checkpoints: [periodic(at(4), ours), periodic(at(8), theirs, 2)], trust },
    { valid: true, problem: null },
  ],
  [
    'a changed record: that record',
    { records: chain.map((r) => (r.seq === 6 ? { ...r, targetId: 'forged' } : r)), trust },
    { problem: 'RECORD_CHANGED', named: 6, reason: /record 6 does not match its hash/ },
  ],
  [
    'a record deleted from the middle: the one after the gap',
    { records: chain.filter((r) => r.seq !== 5), trust },
    { problem: 'RECORDS_MISSING', named: 6, reason: /record 6 follows 4: records 5 to 5 are missing/ },
  ],
  [
    'the oldest records deleted, no checkpoint: the first remaining one',
    { records: from(4), trust },
    { problem: 'RECORDS_MISSING', named: 4, reason: /records 1 to 3 are missing/ },
  ],
  [
    'the oldest records deleted behind an unsigned checkpoint (the finding)',
    { records: from(4), checkpoints: [{ ...pruned(at(3), ours), keyId: null, signature: null }], trust },
    {
      problem: 'RECORDS_MISSING',
      named: 4,
      reason: /records 1 to 3 are missing: .*not validly signed: it is unsigned/,
    },
  ],
  [
    'the oldest records deleted behind a checkpoint signed by an unregistered key',
    { records: from(4), checkpoints: [pruned(at(3), stranger)], trust },
    { problem: 'RECORDS_MISSING', named: 4, reason: /not a registered checkpoint key/ },
  ],
  [
    'the oldest records deleted behind a checkpoint by a registered key the verifier does not trust',
    { records: from(4), checkpoints: [pruned(at(3), theirs)], trust: { ...trust, trusted: [ours.kid] } },
    { problem: 'RECORDS_MISSING', named: 4, reason: /not among the trusted keys/ },
  ],
  [
    'the oldest records deleted behind an altered checkpoint (bad signature)',
    { records: from(6), checkpoints: [pruned(at(3), ours), { ...pruned(at(5), ours, 4), seq: 5, pruned: 9 }], trust },
    { problem: 'RECORDS_MISSING', named: 6, reason: /records 4 to 5 are missing: .*does not verify/ },
  ],
  [
    'everything deleted behind a forged checkpoint: nothing left to name',
    { records: [], checkpoints: [{ ...pruned(at(10), ours), signature: 'x'.repeat(86) }], trust },
    { problem: 'RECORDS_MISSING', named: null, firstBrokenSeq: 1, reason: /records 1 to 10 are missing/ },
  ],
  [
    'a genuine prune checkpoint continues the chain',
    { records: from(4), checkpoints: [pruned(at(3), ours)], trust },
    { valid: true },
  ],
  [
    'a forged prune checkpoint while the records it claims still exist: the checkpoint',
    { records: chain, checkpoints: [pruned(at(3), stranger)], trust },
    {
      problem: 'CHECKPOINT_INVALID',
      named: null,
      firstBrokenSeq: null,
      reason: /record 1, which it claims was pruned, still exists/,
    },
  ],
  [
    'records a genuine prune checkpoint covers, still there',
    { records: [at(3), ...from(4)], checkpoints: [pruned(at(3), ours)], trust },
    { problem: 'RECORD_NOT_PRUNED', named: 3 },
  ],
  [
    'a forged periodic checkpoint: the checkpoint, no record',
    { records: chain, checkpoints: [periodic(at(4), ours), periodic(at(6), stranger)], trust },
    { problem: 'CHECKPOINT_INVALID', named: null, reason: /periodic checkpoint at record 6 .* not validly signed/ },
  ],
  [
    'the chain head rewritten: the head, not the next record',
    { records: chain, head: { seq: 10, hash: 'f'.repeat(64) }, trust },
    {
      problem: 'HEAD_CHANGED',
      named: null,
      firstBrokenSeq: null,
      reason: /chain head was changed: it names hash f+ for record 10/,
    },
  ],
  [
    'the chain head rewritten where a checkpoint vouches for the last record',
    { records: chain, checkpoints: [periodic(at(10), ours)], head: { seq: 10, hash: 'f'.repeat(64) }, trust },
    { problem: 'HEAD_CHANGED', reason: /checkpoint signed at .* confirms the record's hash/ },
  ],
  [
    'a record past the head',
    { records: chain, head: { seq: 9, hash: at(9).hash }, trust },
    { problem: 'HEAD_BEHIND', named: 10 },
  ],
  [
    'records deleted from the end, head intact',
    { records: chain.slice(0, 7), head: { seq: 10, hash: at(10).hash }, trust },
    {
      problem: 'TAIL_MISSING',
      named: null,
      firstBrokenSeq: 8,
      reason: /records 8 to 10 are missing from the end: the chain head names record 10/,
    },
  ],
  [
    'the tail truncated past the latest checkpoint, head moved back with it',
    { records: chain.slice(0, 6), checkpoints: [periodic(at(8), ours)], head: { seq: 6, hash: at(6).hash }, trust },
    {
      problem: 'TAIL_MISSING',
      firstBrokenSeq: 7,
      reason: /records 7 to 8 are missing from the end: the periodic checkpoint at record 8 .* no longer reaches/,
    },
  ],
  [
    'the tail truncated after the latest checkpoint, head moved back: not detectable',
    { records: chain.slice(0, 8), checkpoints: [periodic(at(8), ours)], trust },
    { valid: true },
  ],
  [
    'records rewritten with every later hash: the first one after the latest checkpoint that vouches',
    {
      records: rehash(
        chain.map((r) => (r.seq === 6 ? { ...r, targetId: 'forged' } : r)),
        6,
        GENESIS_HASH,
      ),
      checkpoints: [periodic(at(4), ours), periodic(at(8), ours, 2)],
      trust,
    },
    { problem: 'CHECKPOINT_MISMATCH', named: 5, reason: /records from 5 to 8 were rewritten/ },
  ],
  [
    'a legacy HMAC prune checkpoint with its key',
    {
      records: from(4),
      checkpoints: [legacy(at(3), HMAC_KEY)],
      trust: { ...trust, hmacKey: HMAC_KEY },
    },
    { valid: true },
  ],
  [
    'a legacy HMAC prune checkpoint without the key',
    { records: from(4), checkpoints: [legacy(at(3), HMAC_KEY)], trust },
    { problem: 'RECORDS_MISSING', reason: /no modules.audit.checkpointKey is set/ },
  ],
  [
    'a legacy unsigned prune checkpoint the operator vouches for',
    {
      records: from(4),
      checkpoints: [{ ...pruned(at(3), ours), keyId: null, signature: null }],
      trust: { ...trust, trustUnsignedThrough: 3 },
    },
    { valid: true },
  ],
];

function legacy(last: (typeof chain)[number], key: string): Checkpoint {
  const unsigned = { ...pruned(last, ours), keyId: null, signature: null };
  return { ...unsigned, signature: legacyHmac(unsigned, key) };
}

describe('ChainChecker', () => {
  it.each(cases)('%s', (_case, scenario, expected) => {
    const report = check(scenario);
    const { named, reason, ...rest } = expected;
    expect(report).toMatchObject({ valid: !expected.problem, ...rest });
    if (named !== undefined) {
      expect(report.firstBrokenId).toBe(named === null ? null : chain[named - 1]!.id);
      if (named !== null) expect(report.firstBrokenSeq).toBe(named);
    }
    if (reason) expect(report.reason).toMatch(reason);
  });

  it('reports how far the chain is signed', () => {
    const report = check({ records: chain, checkpoints: [periodic(at(4), ours), periodic(at(8), theirs, 2)], trust });
    expect(report).toMatchObject({
      valid: true,
      checked: 10,
      checkpointsChecked: 2,
      latestCheckpoint: { kind: 'periodic', seq: 8, signer: theirs.kid },
    });
  });
});
