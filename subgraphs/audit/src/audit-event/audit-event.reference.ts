import { isUuid, type GraphQLContext } from '@platform/kernel';
import type { AuditEvent } from './audit-event.entity.js';
import { auditEventsByIds } from './audit-event.queries.js';

/** Loads an event through the request's DataLoader, so any number of lookups is one query. */
export function loadAuditEvent(ctx: GraphQLContext, id: string): Promise<AuditEvent | null> {
  return ctx.loader<string, AuditEvent | null>('AuditEvent.byId', (ids) => auditEventsByIds(ctx.em, ids)).load(id);
}

/** `_entities` lookups of `AuditEvent` from other subgraphs (guarded by the module's reference rule). */
export function resolveAuditEventReference(
  reference: { __typename: string; id?: unknown },
  ctx: GraphQLContext,
): Promise<AuditEvent | null> | null {
  return isUuid(reference.id) ? loadAuditEvent(ctx, reference.id.toLowerCase()) : null;
}
