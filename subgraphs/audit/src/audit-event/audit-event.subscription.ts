import { Arg, Ctx, Resolver, Root, Subscription } from 'type-graphql';
import { NotFoundError } from '@platform/kernel';
import type { AuditContext } from '../context.js';
import { AuditEvent } from './audit-event.entity.js';
import type { RecordedEvent } from './audit-event.feed.js';
import { loadAuditEvent } from './audit-event.reference.js';
import { isSecurityAction, securityActionsOf } from './security-actions.js';

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

  @Subscription(() => AuditEvent, {
    description:
      'Each security-relevant audit record as it is stored (refused and throttled logins, lockouts, refresh-token ' +
      'reuse, password resets, role, grant and assignment changes, service-credential refusals: docs/audit.md); ' +
      'only `actions` when given, each of which must be one of those',
    subscribe: ({ args, context }) =>
      (context as AuditContext).services.feed.streamOf(
        securityActionsOf((args as { actions?: string[] | null }).actions),
      ),
  })
  async securityEvents(
    @Root() recorded: RecordedEvent,
    @Ctx() ctx: AuditContext,
    @Arg('actions', () => [String], { nullable: true }) _actions?: string[],
  ): Promise<AuditEvent> {
    // The stream filters already; this keeps the field's promise whatever feeds it.
    const event = isSecurityAction(recorded.action) ? await loadAuditEvent(ctx, recorded.id) : null;
    if (!event) throw new NotFoundError('AuditEvent', recorded.id);
    return event;
  }
}
