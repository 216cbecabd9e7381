import { defineModule, permission } from '@platform/kernel';
import { migrations } from './migrations/index.js';
import { AuditEvent } from './audit-event/audit-event.entity.js';
import { resolveAuditEventReference } from './audit-event/audit-event.reference.js';
import { AuditEventResolver } from './audit-event/audit-event.resolver.js';
import { UserRef } from './user/user.stub.js';
import { Permission } from './permissions.generated.js';
import { rules } from './rules.js';

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  entities: [AuditEvent],
  migrations,
  resolvers: [AuditEventResolver],
  orphanedTypes: [UserRef],
  references: { AuditEvent: { rule: permission(Permission.EventRead), resolve: resolveAuditEventReference } },
  rules,
});
