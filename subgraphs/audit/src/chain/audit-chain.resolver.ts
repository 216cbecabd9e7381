import { Ctx, Field, ID, Int, ObjectType, Query, Resolver } from 'type-graphql';
import type { AuditContext } from '../context.js';

@ObjectType({ description: "Whether the audit log's hash chain is intact" })
export class AuditChainReport {
  @Field({ description: 'True when every record matches its hash and none is missing' })
  valid!: boolean;

  @Field(() => Int, { description: 'Records checked (those pruned before the latest checkpoint are not)' })
  checked!: number;

  @Field(() => ID, { nullable: true, description: 'The first record that does not fit the chain' })
  firstBrokenId!: string | null;

  @Field(() => String, { nullable: true, description: 'What is wrong, when something is' })
  reason!: string | null;
}

@Resolver()
export class AuditChainResolver {
  @Query(() => AuditChainReport, {
    description: 'Recomputes the whole hash chain (from the latest retention checkpoint) and reports the first break',
  })
  verifyAuditChain(@Ctx() ctx: AuditContext): Promise<AuditChainReport> {
    return ctx.services.verify(ctx.em);
  }
}
