import { defineModule, permission } from '@platform/kernel';
import { AuditChainResolver } from './chain/audit-chain.resolver.js';
import { AUDIT_KEYS_PATH } from './chain/checkpoint-keys.js';
import { auditConfigSchema } from './config.js';
import { migrations } from './migrations/index.js';
import { AuditEvent } from './audit-event/audit-event.entity.js';
import { resolveAuditEventReference } from './audit-event/audit-event.reference.js';
import { AuditEventResolver } from './audit-event/audit-event.resolver.js';
import { AuditEventSubscriptionResolver } from './audit-event/audit-event.subscription.js';
import { UserRef } from './user/user.stub.js';
import { Permission } from './permissions.generated.js';
import { recordingConsumer } from './recording/consumer.js';
import { rules } from './rules.js';
import { createAuditServices } from './services.js';

export type { AuditServices } from './services.js';
export type { AuditConfig } from './config.js';
export type { ChainReport } from './chain/chain-verifier.js';
export type { ExportSummary } from './chain/chain-export.js';
export { ExportFormatError, verifyExport, type ExportReport } from './chain/export-verifier.js';
export { auditGrants } from './chain/grants.js';

/** The chain's verification on a running audit over the embedded database (`platformctl doctor`). */
export const AUDIT_CHAIN_PATH = '/internal/audit/chain';

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
  // After onStart (the signing key is loaded before anything is recorded and signed).
  consumers: [recordingConsumer],
  routes(router, runtime, services) {
    // Public keys for outside verifiers of exports (`platformctl audit verify --file`): JWKS-like.
    router.get(AUDIT_KEYS_PATH, async (_req, res, next) => {
      try {
        res.set('cache-control', 'public, max-age=60').json({ keys: await services.keys.published(runtime.em()) });
      } catch (error) {
        next(error);
      }
    });
    // `platformctl doctor` checks the chain through the running audit while it holds the embedded
    // database (internal: the kernel requires the service credential); on PostgreSQL it reads the chain itself.
    if (runtime.db.kind === 'pglite') {
      router.get(AUDIT_CHAIN_PATH, async (_req, res, next) => {
        try {
          res.set('cache-control', 'no-store').json(await services.verify());
        } catch (error) {
          next(error);
        }
      });
    }
  },
  // Run by the schedules of module.yaml, once per deployment per tick.
  jobs: {
    'sign-checkpoint': {
      attempts: 1,
      async handler(_payload, runtime, services) {
        if (runtime.config.checkpointIntervalSeconds > 0) await services.checkpoints.publish();
      },
    },
    'prune-retention': {
      attempts: 1,
      timeoutMs: 30 * 60_000,
      async handler(_payload, _runtime, services, job) {
        await services.retention?.run(job.signal);
      },
    },
  },
  hooks: {
    async onStart(_runtime, services) {
      // Loads (or generates) the signing key and registers its public half before anything is signed.
      await services.keys.own();
    },
  },
});
