import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { ConnectionType, type Connection } from '@platform/kernel';
import type { AuditContext } from '../context.js';
import { UserRef, userRef } from '../user/user.stub.js';
import { AuditEvent } from './audit-event.entity.js';
import { AuditEventFilter } from './audit-event.inputs.js';
import { listAuditEvents } from './audit-event.queries.js';

export const AuditEventConnection = ConnectionType(AuditEvent, 'AuditEvent');

@Resolver(() => AuditEvent)
export class AuditEventResolver {
  @Query(() => AuditEventConnection, {
    description: 'Audit events, most recently recorded first; cursors stay stable while events arrive',
  })
  auditEvents(
    @Ctx() ctx: AuditContext,
    @Arg('filter', () => AuditEventFilter, { nullable: true }) filter?: AuditEventFilter,
    @Arg('first', () => Int, { nullable: true }) first?: number,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<Connection<AuditEvent>> {
    return listAuditEvents(ctx.em, { filter, first, after });
  }

  @FieldResolver(() => UserRef, {
    nullable: true,
    description: 'Who acted (resolved by identity); null for the system',
  })
  actor(@Root() event: AuditEvent): UserRef | null {
    return event.actorId ? userRef(event.actorId) : null;
  }
}
