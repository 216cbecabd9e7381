import { join } from 'node:path';
import type { EntityManager, ModuleRuntime } from '@platform/kernel';
import { verifyChain, type ChainReport } from './chain/chain-verifier.js';
import type { ChainRecord } from './chain/canonical.js';
import { auditTables, RECORD_COLUMNS, toRecord, type RecordRow } from './chain/chain.store.js';
import { exportChain, type ExportSummary } from './chain/chain-export.js';
import { CheckpointKeys } from './chain/checkpoint-keys.js';
import { CheckpointPublisher } from './chain/checkpoint-publisher.js';
import type { AuditConfig } from './config.js';
import { AuditEventFeed } from './audit-event/audit-event.feed.js';
import { AuditConsumer } from './recording/consumer.js';
import { AuditRecorder } from './recording/recorder.js';
import { AuditPruner } from './retention/pruner.js';
import { AUDITED_TOPICS } from './topics.generated.js';
import { RetentionJob } from './retention/retention-job.js';

/** Everything audit's hooks, resolvers and `platformctl audit` use, built once the database is up. */
export interface AuditServices {
  recorder: AuditRecorder;
  /** Records every declared event (the kernel runs `recordingConsumer`, module.ts). */
  consumer: AuditConsumer;
  /** `auditEventRecorded`: each stored record announced to subscribers. */
  feed: AuditEventFeed;
  /** Checks the whole hash chain (from the latest prune checkpoint), every checkpoint and the head. */
  verify(em?: EntityManager): Promise<ChainReport>;
  /** Writes the chain, its checkpoints and public keys to `file` as JSON lines (docs/audit.md, "Exports"). */
  exportTo(file: string): Promise<ExportSummary>;
  /** This instance's checkpoint signing key, and the trust verifications apply. */
  keys: CheckpointKeys;
  /** Periodic signed checkpoints, run by the `checkpoint` schedule unless `checkpointIntervalSeconds` is 0. */
  checkpoints: CheckpointPublisher;
  /** One stored record, exactly as the chain hashes it. */
  record(id: string, em?: EntityManager): Promise<ChainRecord | undefined>;
  pruner: AuditPruner;
  /** The periodic prune, when `retentionDays` is set and `pruneIntervalMinutes` is not 0; run by the `retention` schedule. */
  retention: RetentionJob | undefined;
}

export function createAuditServices(runtime: ModuleRuntime<AuditConfig>): AuditServices {
  const { config, db, logger } = runtime;
  const recorder = new AuditRecorder(db);
  const feed = new AuditEventFeed({ pubsub: runtime.pubsub, logger });
  const consumer = new AuditConsumer({
    runtime: runtime as ModuleRuntime,
    recorder,
    topics: AUDITED_TOPICS,
    onRecorded: (record) => feed.announce(record),
  });
  const keys = new CheckpointKeys({
    db,
    configured: config.checkpointSigningKey,
    file: config.checkpointSigningKeyFile,
    keyDir: join(runtime.platform.dataDir, 'audit', 'keys'),
    trusted: config.trustedCheckpointKeys,
    hmacKey: config.checkpointKey,
    trustUnsignedThrough: config.trustUnsignedCheckpointsThrough,
    logger,
  });
  const checkpoints = new CheckpointPublisher({
    db,
    keys,
    intervalSeconds: config.checkpointIntervalSeconds,
    logger,
  });
  const pruner = new AuditPruner({
    db,
    archiveDir: config.archiveDir ?? join(runtime.platform.dataDir, 'audit', 'archive'),
    refuseDefaultArchiveDir: config.archiveDir === null && runtime.platform.env === 'production',
    keys,
    batchLimit: config.pruneBatchLimit,
    logger,
  });
  const retention =
    config.retentionDays && config.pruneIntervalMinutes > 0
      ? new RetentionJob({
          pruner,
          retentionDays: config.retentionDays,
          logger,
        })
      : undefined;
  const tables = auditTables(db.schema);
  return {
    recorder,
    consumer,
    feed,
    verify: async (em = db.fork()) => verifyChain(em, tables, await keys.trust(em)),
    exportTo: (file) => exportChain(db.fork(), tables, file),
    keys,
    checkpoints,
    record: async (id, em = db.fork()) => {
      const rows = await em.execute<RecordRow[]>(`select ${RECORD_COLUMNS} from ${tables.events} e where e.id = ?`, [
        id,
      ]);
      return rows[0] ? toRecord(rows[0]) : undefined;
    },
    pruner,
    retention,
  };
}
