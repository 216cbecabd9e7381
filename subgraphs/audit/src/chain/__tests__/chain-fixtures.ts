import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { chainHash, GENESIS_HASH, type ChainRecord } from '../canonical.js';
import { ChainChecker, type ChainReport } from '../chain-checker.js';
import { CheckpointTrust, signCheckpoint, type TrustOptions } from '../checkpoint-signature.js';
import type { Checkpoint } from '../checkpoint.store.js';
import { jwkThumbprint, knownKey, type KnownKey, type PublicJwk } from '../key-ring.js';
import type { CheckpointSigningKey } from '../signing-key.js';

/** A fresh Ed25519 signing key, as loadSigningKey would give it. */
export function testKey(): CheckpointSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const { x } = publicKey.export({ format: 'jwk' });
  const publicJwk: PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: x! };
  return { kid: jwkThumbprint(publicJwk), publicJwk, privateKey, source: 'configured' };
}

export const known = (key: CheckpointSigningKey): KnownKey => knownKey(key.kid, key.publicJwk, new Date(0));

const BASE = Date.UTC(2026, 0, 1);

/** `n` records chained from `previous`, starting at `firstSeq`. */
export function chainOf(n: number, firstSeq = 1, previous = GENESIS_HASH): ChainRecord[] {
  const records: ChainRecord[] = [];
  for (let i = 0; i < n; i++) {
    const seq = firstSeq + i;
    const unhashed = {
      id: randomUUID(),
      seq,
      eventId: randomUUID(),
      action: 'blog.post.created',
      actorId: null,
      targetType: 'post',
      targetId: `p${seq}`,
      metadata: { postId: `p${seq}` },
      requestId: null,
      traceId: null,
      ip: null,
      userAgent: null,
      occurredAt: new Date(BASE + seq * 1000),
      recordedAt: new Date(BASE + seq * 1000 + 5),
    };
    const record = { ...unhashed, hash: chainHash(previous, unhashed) };
    records.push(record);
    previous = record.hash;
  }
  return records;
}

/** Recomputes every hash from `from` on (a rewrite by someone who can also rewrite hashes). */
export function rehash(records: ChainRecord[], from: number, previous: string): ChainRecord[] {
  const out: ChainRecord[] = [];
  for (const record of records) {
    if (record.seq < from) {
      out.push(record);
      previous = record.hash;
      continue;
    }
    const { hash: _old, ...rest } = record;
    const hash = chainHash(previous, rest);
    out.push({ ...rest, hash });
    previous = hash;
  }
  return out;
}

/** A signed checkpoint statement about `record`. */
export function periodic(record: Pick<ChainRecord, 'seq' | 'hash'>, key: CheckpointSigningKey, at = 1): Checkpoint {
  return signCheckpoint(
    {
      kind: 'periodic',
      seq: record.seq,
      hash: record.hash,
      firstSeq: null,
      pruned: 0,
      archive: null,
      archiveSha256: null,
      createdAt: new Date(BASE + at * 60_000),
    },
    key,
  );
}

/** A signed prune checkpoint after records `firstSeq`..`last.seq`. */
export function pruned(last: Pick<ChainRecord, 'seq' | 'hash'>, key: CheckpointSigningKey, firstSeq = 1): Checkpoint {
  return signCheckpoint(
    {
      kind: 'prune',
      seq: last.seq,
      hash: last.hash,
      firstSeq,
      pruned: last.seq - firstSeq + 1,
      archive: `audit-${firstSeq}-${last.seq}.jsonl`,
      archiveSha256: 'a'.repeat(64),
      createdAt: new Date(BASE + last.seq * 60_000),
    },
    key,
  );
}

export interface Scenario {
  records: ChainRecord[];
  checkpoints?: Checkpoint[];
  /** Default: the last record's (or the latest prune checkpoint's) seq and hash, or genesis. */
  head?: { seq: number; hash: string };
  trust: Omit<TrustOptions, 'keys'> & { keys: KnownKey[] };
}

/** Feeds a scenario to a checker as a source would: checkpoints after their record, in chain order. */
export function check(s: Scenario): ChainReport {
  const checkpoints = [...(s.checkpoints ?? [])].sort((a, b) => a.seq - b.seq);
  const start = checkpoints.filter((c) => c.kind === 'prune').at(-1);
  const checker = new ChainChecker(new CheckpointTrust(s.trust), start);
  const records = [...s.records].sort((a, b) => a.seq - b.seq);
  const last = records.at(-1);
  const head =
    s.head ??
    (last
      ? { seq: last.seq, hash: last.hash }
      : start
        ? { seq: start.seq, hash: start.hash }
        : { seq: 0, hash: GENESIS_HASH });
  checker.expectHead(head.seq);
  let next = 0;
  for (const record of records) {
    while (next < checkpoints.length && checkpoints[next]!.seq < record.seq) checker.checkpoint(checkpoints[next++]!);
    checker.record(record);
    while (next < checkpoints.length && checkpoints[next]!.seq === record.seq) checker.checkpoint(checkpoints[next++]!);
  }
  while (next < checkpoints.length) checker.checkpoint(checkpoints[next++]!);
  return checker.broken ?? checker.end(head);
}
