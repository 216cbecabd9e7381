import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import type { Checkpoint } from './chain.store.js';

/** What a checkpoint's signature covers: every field but the signature, canonically. */
function signedText(checkpoint: Omit<Checkpoint, 'signature'>): string {
  return canonicalJson({
    seq: checkpoint.seq,
    hash: checkpoint.hash,
    firstSeq: checkpoint.firstSeq,
    pruned: checkpoint.pruned,
    archive: checkpoint.archive,
    archiveSha256: checkpoint.archiveSha256,
    createdAt: checkpoint.createdAt.toISOString(),
  });
}

/** HMAC-SHA256 (hex) of the checkpoint with the configured key. */
export function signCheckpoint(checkpoint: Omit<Checkpoint, 'signature'>, key: string): string {
  return createHmac('sha256', key).update(signedText(checkpoint), 'utf8').digest('hex');
}

export function checkpointSignatureValid(checkpoint: Checkpoint, key: string): boolean {
  if (!checkpoint.signature || !/^[0-9a-f]{64}$/.test(checkpoint.signature)) return false;
  const expected = Buffer.from(signCheckpoint(checkpoint, key), 'hex');
  return timingSafeEqual(expected, Buffer.from(checkpoint.signature, 'hex'));
}
