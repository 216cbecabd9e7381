import { type PlatformConfig } from '@platform/kernel';
import { loadConfig, withModuleRuntime } from '@platform/kernel/tools';
import audit, { auditGrants, ExportFormatError, verifyExport, type ChainReport } from '@platform/audit';
import { UsageError } from '../usage.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface VerifyOptions {
  /** Also write the chain, its checkpoints and public keys to this file (JSON lines). */
  export?: string;
  /** Verify this export offline instead of the database. */
  file?: string;
  /** Key ids to accept checkpoint signatures from (default: modules.audit.trustedCheckpointKeys, else every known key). */
  trust?: string[];
}

type AuditSettings = {
  trustedCheckpointKeys?: string[] | null;
  checkpointKey?: string | null;
  trustUnsignedCheckpointsThrough?: number | null;
};

const auditSettings = (config: PlatformConfig): AuditSettings =>
  (config.modules.audit as AuditSettings | undefined) ?? {};

function printReport(report: ChainReport): void {
  const from = report.checkpointSeq === null ? '' : ` (from the checkpoint after record ${report.checkpointSeq})`;
  const signed = report.latestCheckpoint
    ? `signed up to record ${report.latestCheckpoint.seq} at ${report.latestCheckpoint.createdAt.toISOString()}`
    : 'no signed checkpoint yet';
  const signers = report.signers.length > 0 ? `; checkpoint keys: ${report.signers.join(', ')}` : '';
  if (report.valid) {
    console.log(`audit chain valid: ${report.checked} records checked${from}; ${signed}${signers}`);
    return;
  }
  console.error(`audit chain BROKEN (${report.problem}): ${report.reason}`);
  console.error(`${report.checked} records checked before the break${from}; ${signed}${signers}`);
  if (report.firstBrokenSeq !== null && report.firstBrokenId === null) {
    console.log(`first broken position: record ${report.firstBrokenSeq} (no longer stored)`);
  }
}

/**
 * `audit verify`: checks the audit log's hash chain, checkpoint signatures and head from the
 * command line, as `verifyAuditChain` does; with `--export FILE` also writes the chain as JSON
 * lines for outside verification; with `--file FILE` verifies such an export offline, with no
 * database. Exit 0 when intact; 1 when broken, with the reason and the first broken record.
 */
export async function auditVerify(
  root: string,
  env: Record<string, string | undefined>,
  options: VerifyOptions = {},
): Promise<number> {
  if (options.export && options.file) throw new UsageError('--export and --file do not go together');
  const config = loadConfig({ env, cwd: root });
  const settings = auditSettings(config);
  const trusted = options.trust && options.trust.length > 0 ? options.trust : (settings.trustedCheckpointKeys ?? null);
  if (options.file) {
    let report;
    try {
      report = await verifyExport(options.file, {
        trusted,
        hmacKey: settings.checkpointKey ?? null,
        trustUnsignedThrough: settings.trustUnsignedCheckpointsThrough ?? null,
      });
    } catch (error) {
      if (!(error instanceof ExportFormatError) && (error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      console.error(`${options.file} is not a readable audit export: ${(error as Error).message}`);
      return 1;
    }
    console.log(
      `export of ${report.exportedAt}, head at record ${report.head.seq}; ` +
        `keys accepted: ${report.trustedKeys.join(', ') || 'none'}${trusted ? ' (pinned)' : ' (every key in the file: pin them with --trust)'}`,
    );
    printReport(report);
    return report.valid ? 0 : 1;
  }
  return withModuleRuntime(audit, config, async (_runtime, services) => {
    const report = await services.verify();
    printReport(report);
    if (options.export) {
      const summary = await services.exportTo(options.export);
      console.log(
        `exported ${summary.records} records, ${summary.checkpoints} checkpoints and ${summary.keys} keys ` +
          `(head at record ${summary.head.seq}) to ${summary.file}, sha256 ${summary.sha256}`,
      );
    }
    if (report.valid) return 0;
    const record = report.firstBrokenId ? await services.record(report.firstBrokenId) : undefined;
    if (record) {
      console.log(`first broken record (seq ${record.seq}, id ${record.id}):`);
      console.log(JSON.stringify(record, null, 2));
    }
    return 1;
  });
}

/**
 * `audit grants`: prints the SQL that gives the audit service's role (and the pruning role) what
 * it needs and nothing more, for the schema the configuration names. Run it as the schema owner.
 */
export function auditGrantsCommand(
  root: string,
  env: Record<string, string | undefined>,
  options: { role?: string; pruneRole?: string },
): number {
  if (!options.role) throw new UsageError('--role is required: the role the audit service connects as');
  const config = loadConfig({ env, cwd: root });
  const schema = config.services.audit?.dbSchema ?? 'audit';
  for (const statement of auditGrants({ schema, role: options.role, pruneRole: options.pruneRole ?? null })) {
    console.log(statement);
  }
  return 0;
}

/** Parses `--older-than-days`: a whole number of days, at least 1. */
function days(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) {
    throw new UsageError(`--older-than-days must be a whole number of days, at least 1 (got ${JSON.stringify(value)})`);
  }
  return parsed;
}

/**
 * `audit prune`: archives and deletes records older than the retention (`modules.audit.retentionDays`,
 * or `--older-than-days`), leaving a checkpoint; the chain verifies from it. Repeats until
 * nothing more is due. On the embedded database, run it while the platform is stopped (or let the
 * running audit service prune on its own timer).
 */
export async function auditPrune(
  root: string,
  env: Record<string, string | undefined>,
  options: { olderThanDays?: string },
): Promise<number> {
  const config = loadConfig({ env, cwd: root });
  const configured = (config.modules.audit as { retentionDays?: number | null } | undefined)?.retentionDays;
  const retention = days(options.olderThanDays) ?? configured ?? undefined;
  if (!retention) {
    throw new UsageError(
      'no retention: set modules.audit.retentionDays (PLATFORM_MODULES__AUDIT__RETENTION_DAYS) or pass --older-than-days',
    );
  }
  const before = new Date(Date.now() - retention * DAY_MS);
  return withModuleRuntime(audit, config, async (_runtime, services) => {
    let total = 0;
    for (;;) {
      const result = await services.pruner.prune(before);
      if (result.pruned === 0) break;
      total += result.pruned;
      console.log(
        `archived and deleted records ${result.checkpoint!.firstSeq} to ${result.checkpoint!.seq} into ${result.archivePath}`,
      );
    }
    console.log(
      total === 0
        ? `nothing to prune: no record before ${before.toISOString()} starts the chain`
        : `pruned ${total} audit records older than ${before.toISOString()}`,
    );
    return 0;
  });
}
