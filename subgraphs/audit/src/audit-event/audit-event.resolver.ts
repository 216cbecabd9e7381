import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { ConnectionType, type GraphQLContext } from '@platform/kernel';
import { AuditEvent } from './audit-event.entity.js';
import { listAuditEvents } from './audit-event.service.js';
import { UserRef, userRef } from '../user/user.stub.js';

export const AuditEventConnection = ConnectionType(AuditEvent, 'AuditEvent');

@Resolver(() => AuditEvent)
export class AuditEventResolver {
  @Query(() => AuditEventConnection, { description: 'Audit events, newest first' })
  auditEvents(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ) {
    return listAuditEvents(ctx.em, { first, after });
  }

  @FieldResolver(() => UserRef, {
    nullable: true,
    description: 'Who acted (resolved by identity); null for the system',
  })
  actor(@Root() event: AuditEvent): UserRef | null {
    return event.actorId ? userRef(event.actorId) : null;
  }
}
