import { Ctx, Field, ID, Int, ObjectType, Query, registerEnumType, Resolver } from 'type-graphql';
import type { AuditContext } from '../context.js';
import type { ChainProblem, ChainReport } from './chain-checker.js';

const PROBLEMS: { [P in ChainProblem]: P } = {
  RECORD_CHANGED: 'RECORD_CHANGED',
  RECORDS_MISSING: 'RECORDS_MISSING',
  TAIL_MISSING: 'TAIL_MISSING',
  RECORD_NOT_PRUNED: 'RECORD_NOT_PRUNED',
  CHECKPOINT_INVALID: 'CHECKPOINT_INVALID',
  CHECKPOINT_MISMATCH: 'CHECKPOINT_MISMATCH',
  HEAD_CHANGED: 'HEAD_CHANGED',
  HEAD_BEHIND: 'HEAD_BEHIND',
};

registerEnumType(PROBLEMS, {
  name: 'AuditChainProblem',
  description: 'What kind of break a verification of the audit chain found',
  valuesConfig: {
    RECORD_CHANGED: { description: 'A record does not match its hash' },
    RECORDS_MISSING: {
      description: 'Records are missing before a stored one (a gap, or the oldest gone without a signed checkpoint)',
    },
    TAIL_MISSING: { description: 'The chain head or a signed checkpoint names records the chain no longer reaches' },
    RECORD_NOT_PRUNED: { description: 'A record a prune checkpoint covers still exists' },
    CHECKPOINT_INVALID: { description: 'A checkpoint is unsigned, or signed by an unknown or untrusted key, or badly' },
    CHECKPOINT_MISMATCH: {
      description: 'A signed checkpoint names another hash than its record has: records were rewritten',
    },
    HEAD_CHANGED: { description: 'The chain head names another hash than its record has' },
    HEAD_BEHIND: { description: 'Records exist past the chain head: they were not appended through it' },
  },
});

@ObjectType({ description: "Whether the audit log's hash chain is intact" })
export class AuditChainReport {
  @Field({
    description: 'True when every record matches its hash, none is missing, and every checkpoint is validly signed',
  })
  valid!: boolean;

  @Field(() => Int, { description: 'Records checked (those pruned before the latest prune checkpoint are not)' })
  checked!: number;

  @Field(() => ID, {
    nullable: true,
    description:
      'The first record that does not fit the chain; null when it no longer exists or the break is the head or a checkpoint',
  })
  firstBrokenId!: string | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'Position in the chain of the first broken record (of the first missing one, when records are missing)',
  })
  firstBrokenSeq!: number | null;

  @Field(() => PROBLEMS, { nullable: true, description: 'What kind of break, when there is one' })
  problem!: ChainProblem | null;

  @Field(() => String, { nullable: true, description: 'What is wrong, in words, when something is' })
  reason!: string | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Position of the newest checkpoint that verified: the chain is signed up to there',
  })
  latestCheckpointSeq!: number | null;

  @Field(() => Date, { nullable: true, description: 'When that checkpoint was signed' })
  latestCheckpointAt!: Date | null;
}

export function toAuditChainReport(report: ChainReport): AuditChainReport {
  return {
    valid: report.valid,
    checked: report.checked,
    firstBrokenId: report.firstBrokenId,
    firstBrokenSeq: report.firstBrokenSeq,
    problem: report.problem,
    reason: report.reason,
    latestCheckpointSeq: report.latestCheckpoint?.seq ?? null,
    latestCheckpointAt: report.latestCheckpoint?.createdAt ?? null,
  };
}

@Resolver()
export class AuditChainResolver {
  @Query(() => AuditChainReport, {
    description:
      'Recomputes the hash chain (from the latest prune checkpoint), checks every checkpoint signature and the chain head, and reports the first break',
  })
  async verifyAuditChain(@Ctx() ctx: AuditContext): Promise<AuditChainReport> {
    return toAuditChainReport(await ctx.services.verify(ctx.em));
  }
}
