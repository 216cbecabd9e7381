import { defineModule, permission } from '@platform/kernel';
import { AuditChainResolver } from './chain/audit-chain.resolver.js';
import { auditConfigSchema } from './config.js';
import { migrations } from './migrations/index.js';
import { AuditEvent } from './audit-event/audit-event.entity.js';
import { resolveAuditEventReference } from './audit-event/audit-event.reference.js';
import { AuditEventResolver } from './audit-event/audit-event.resolver.js';
import { AuditEventSubscriptionResolver } from './audit-event/audit-event.subscription.js';
import { UserRef } from './user/user.stub.js';
import { Permission } from './permissions.generated.js';
import { rules } from './rules.js';
import { createAuditServices } from './services.js';

export type { AuditServices } from './services.js';
export type { AuditConfig } from './config.js';
export type { ChainReport } from './chain/chain-verifier.js';

export default defineModule({
  manifest: new URL('../module.yaml', import.meta.url),
  config: auditConfigSchema,
  entities: [AuditEvent],
  migrations,
  resolvers: [AuditEventResolver, AuditEventSubscriptionResolver, AuditChainResolver],
  orphanedTypes: [UserRef],
  references: { AuditEvent: { rule: permission(Permission.EventRead), resolve: resolveAuditEventReference } },
  rules,
  services: createAuditServices,
  hooks: {
    async onStart(_runtime, services) {
      await services.consumer.start();
      services.retention?.start();
    },
  },
});
