import { chainHash, GENESIS_HASH, type ChainRecord } from './canonical.js';
import type { CheckpointTrust } from './checkpoint-signature.js';
import type { Checkpoint } from './checkpoint.store.js';
import type { ChainHead } from './chain.store.js';
import type { ChainProblem, ChainReport } from './chain-report.js';

export type { ChainProblem, ChainReport } from './chain-report.js';

const same = (a: Checkpoint, b: Checkpoint): boolean =>
  a.kind === b.kind &&
  a.seq === b.seq &&
  a.signature === b.signature &&
  a.createdAt.getTime() === b.createdAt.getTime();

const describe = (c: Checkpoint): string =>
  `the ${c.kind} checkpoint at record ${c.seq} (${c.createdAt.toISOString()})`;

/**
 * The verification itself, fed in chain order by a source (the database, or an export file):
 * every checkpoint, and every record, a checkpoint at seq `s` after record `s`; then `end` with
 * the chain head. The first problem found is the report; later input is ignored.
 *
 * Verification starts at `start`, the latest prune checkpoint (or the genesis hash): the chain must
 * begin right after a validly signed prune checkpoint, or at record 1. Each checkpoint's signature
 * is checked; one that speaks of a stored record must name its hash. At the end, the head must name
 * the last record and its hash, and no signed checkpoint may name a record past it.
 */
export class ChainChecker {
  readonly #trust: CheckpointTrust;
  readonly #start: Checkpoint | undefined;
  readonly #startWhy: string | null;
  #previous = GENESIS_HASH;
  #lastSeq = 0;
  #checked = 0;
  #checkpointsChecked = 0;
  /** Highest validly signed prune checkpoint below the start (what the start should continue). */
  #validPruneBelowStart = 0;
  /** The newest checkpoint that verified, and the first record after it (the first a rewrite can touch). */
  #anchor: ChainReport['latestCheckpoint'] = null;
  #firstAfterAnchor: { id: string; seq: number } | null = null;
  /** Checkpoints past the last record seen: checked when their record arrives, or at the end. */
  #pending: Checkpoint[] = [];
  #expectedHeadSeq: number | null = null;
  #idAfterHead: string | null = null;
  #report: ChainReport | undefined;
  readonly #signers = new Set<string>();

  constructor(trust: CheckpointTrust, start?: Checkpoint) {
    this.#trust = trust;
    this.#start = start;
    this.#startWhy = null;
    if (start) {
      this.#lastSeq = start.seq;
      const check = trust.check(start);
      if (check.ok) {
        this.#signers.add(check.signer);
        this.#previous = start.hash;
        this.#anchor = { kind: start.kind, seq: start.seq, createdAt: start.createdAt, signer: check.signer };
      } else {
        this.#startWhy = check.why;
      }
    }
  }

  /** Set when a problem was found. */
  get broken(): ChainReport | undefined {
    return this.#report;
  }

  /** The last record accepted (or the start checkpoint's position). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** When the head is known in advance (an export), the record just past it can be named if one exists. */
  expectHead(seq: number): void {
    this.#expectedHeadSeq = seq;
  }

  checkpoint(c: Checkpoint): void {
    if (this.#report) return;
    const start = this.#start;
    if (start && c.seq <= start.seq) {
      this.#checkpointsChecked++;
      // The start's signature was checked up front; a bad one is reported at the first record after it.
      if (same(c, start)) return;
      const check = this.#trust.check(c);
      if (!check.ok) {
        this.#invalid(c, check.why);
        return;
      }
      this.#signers.add(check.signer);
      if (c.kind === 'prune') this.#validPruneBelowStart = c.seq;
      return;
    }
    if (c.seq > this.#lastSeq) {
      this.#pending.push(c);
      return;
    }
    if (c.seq < this.#lastSeq) {
      // Sources feed a checkpoint right after its record; should one come late, its signature still counts.
      this.#checkpointsChecked++;
      const check = this.#trust.check(c);
      if (!check.ok) this.#invalid(c, check.why);
      else this.#signers.add(check.signer);
      return;
    }
    this.#atRecord(c);
  }

  record(r: ChainRecord): void {
    if (this.#report) return;
    if (this.#expectedHeadSeq !== null && r.seq === this.#expectedHeadSeq + 1) this.#idAfterHead = r.id;
    const start = this.#start;
    if (start && r.seq <= start.seq) {
      if (this.#startWhy === null) {
        this.#fail(
          'RECORD_NOT_PRUNED',
          r.id,
          r.seq,
          `record ${r.seq} is covered by ${describe(start)} but still exists: the checkpoint was not written by the prune job`,
        );
      } else {
        this.#invalid(start, `${this.#startWhy} (and record ${r.seq}, which it claims was pruned, still exists)`);
      }
      return;
    }
    if (this.#startWhy !== null) {
      this.#fail(
        'RECORDS_MISSING',
        r.id,
        r.seq,
        `records ${this.#validPruneBelowStart + 1} to ${r.seq - 1} are missing: the chain starts at record ${r.seq}, ` +
          `after ${describe(start!)}, which is not validly signed: ${this.#startWhy}`,
      );
      return;
    }
    if (r.seq !== this.#lastSeq + 1) {
      const reason =
        this.#lastSeq === 0
          ? `records 1 to ${r.seq - 1} are missing: the chain starts at record ${r.seq}, ` +
            'and only a signed prune checkpoint may stand for the records before it'
          : `record ${r.seq} follows ${this.#lastSeq}: records ${this.#lastSeq + 1} to ${r.seq - 1} are missing`;
      this.#fail('RECORDS_MISSING', r.id, r.seq, reason);
      return;
    }
    if (chainHash(this.#previous, r) !== r.hash) {
      this.#fail('RECORD_CHANGED', r.id, r.seq, `record ${r.seq} does not match its hash: it was changed`);
      return;
    }
    this.#previous = r.hash;
    this.#lastSeq = r.seq;
    this.#checked++;
    this.#firstAfterAnchor ??= { id: r.id, seq: r.seq };
    while (this.#pending.length > 0 && this.#pending[0]!.seq === r.seq && !this.#report) {
      this.#atRecord(this.#pending.shift()!);
    }
  }

  /** The verdict, given the chain head (read after every record was fed). */
  end(head: ChainHead, idAfterHead: string | null = this.#idAfterHead): ChainReport {
    if (this.#report) return this.#report;
    const last = this.#lastSeq;
    if (this.#startWhy !== null) {
      const from = this.#validPruneBelowStart + 1;
      return this.#fail(
        'RECORDS_MISSING',
        null,
        from,
        `records ${from} to ${this.#start!.seq} are missing: nothing trustworthy stands for them, ` +
          `as ${describe(this.#start!)} is not validly signed: ${this.#startWhy}`,
      );
    }
    let beyond: { c: Checkpoint; signer: string } | undefined;
    for (const c of this.#pending) {
      this.#checkpointsChecked++;
      const check = this.#trust.check(c);
      if (!check.ok) return this.#invalid(c, check.why);
      this.#signers.add(check.signer);
      if (!beyond || c.seq > beyond.c.seq) beyond = { c, signer: check.signer };
    }
    const missingTo = Math.max(head.seq, beyond?.c.seq ?? 0);
    if (missingTo > last) {
      const signed = beyond
        ? `${describe(beyond.c)}, signed by ${beyond.signer}, names record ${beyond.c.seq} with hash ${beyond.c.hash}`
        : '';
      const reason =
        head.seq > last
          ? `records ${last + 1} to ${missingTo} are missing from the end: the chain head names record ${head.seq}` +
            (beyond ? `, and ${signed}` : '')
          : `records ${last + 1} to ${missingTo} are missing from the end: ${signed}, which the chain no longer ` +
            `reaches (it ends at record ${last}, and the chain head was moved back with it)`;
      return this.#fail('TAIL_MISSING', null, last + 1, reason);
    }
    if (head.seq < last) {
      return this.#fail(
        'HEAD_BEHIND',
        idAfterHead,
        head.seq + 1,
        `record ${head.seq + 1} was not appended through the chain head`,
      );
    }
    if (head.hash !== this.#previous) {
      const confirmed =
        this.#anchor?.seq === last
          ? `; the checkpoint signed at ${this.#anchor.createdAt.toISOString()} confirms the record's hash`
          : `; the record matches its hash and the chain before it`;
      return this.#fail(
        'HEAD_CHANGED',
        null,
        null,
        `the chain head was changed: it names hash ${head.hash} for record ${last}, whose hash is ${this.#previous}${confirmed}`,
      );
    }
    return this.#result(true, null, null, null, null);
  }

  /** A checkpoint at the last record seen: its signature, then its hash. */
  #atRecord(c: Checkpoint): void {
    this.#checkpointsChecked++;
    const check = this.#trust.check(c);
    if (!check.ok) {
      this.#invalid(c, check.why);
      return;
    }
    this.#signers.add(check.signer);
    if (c.hash !== this.#previous) {
      const from = this.#firstAfterAnchor ?? { id: null, seq: c.seq };
      this.#fail(
        'CHECKPOINT_MISMATCH',
        from.id,
        from.seq,
        `${describe(c)}, signed by ${check.signer}, names hash ${c.hash} for record ${c.seq}, which has ${this.#previous}: ` +
          `records from ${from.seq} to ${c.seq} were rewritten with their hashes (record ${from.seq} is the first that can have changed)`,
      );
      return;
    }
    this.#anchor = { kind: c.kind, seq: c.seq, createdAt: c.createdAt, signer: check.signer };
    this.#firstAfterAnchor = null;
  }

  #invalid(c: Checkpoint, why: string): ChainReport {
    return this.#fail('CHECKPOINT_INVALID', null, null, `${describe(c)} is not validly signed: ${why}`);
  }

  #fail(problem: ChainProblem, id: string | null, seq: number | null, reason: string): ChainReport {
    this.#report = this.#result(false, problem, id, seq, reason);
    return this.#report;
  }

  #result(
    valid: boolean,
    problem: ChainProblem | null,
    firstBrokenId: string | null,
    firstBrokenSeq: number | null,
    reason: string | null,
  ): ChainReport {
    return {
      valid,
      checked: this.#checked,
      checkpointsChecked: this.#checkpointsChecked,
      firstBrokenId,
      firstBrokenSeq,
      problem,
      reason,
      checkpointSeq: this.#start?.seq ?? null,
      signers: [...this.#signers],
      latestCheckpoint: this.#anchor,
    };
  }
}
