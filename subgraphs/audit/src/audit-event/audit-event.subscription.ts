import { Arg, Ctx, Resolver, Root, Subscription } from 'type-graphql';
import { NotFoundError } from '@platform/kernel';
import type { AuditContext } from '../context.js';
import { AuditEvent } from './audit-event.entity.js';
import type { RecordedEvent } from './audit-event.feed.js';
import { loadAuditEvent } from './audit-event.reference.js';

@Resolver()
export class AuditEventSubscriptionResolver {
  @Subscription(() => AuditEvent, {
    description: 'Each audit event as it is recorded, only `action` (a topic, e.g. identity.login.failed) when given',
    subscribe: ({ args, context }) =>
      (context as AuditContext).services.feed.stream((args as { action?: string | null }).action),
  })
  async auditEventRecorded(
    @Root() recorded: RecordedEvent,
    @Ctx() ctx: AuditContext,
    @Arg('action', () => String, { nullable: true }) _action?: string,
  ): Promise<AuditEvent> {
    const event = await loadAuditEvent(ctx, recorded.id);
    if (!event) throw new NotFoundError('AuditEvent', recorded.id); // pruned in between
    return event;
  }
}
