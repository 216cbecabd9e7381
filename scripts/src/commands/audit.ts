import { loadConfig, withModuleRuntime } from '@platform/kernel';
import audit from '@platform/audit';
import { UsageError } from '../usage.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `audit verify`: recomputes the audit log's hash chain from the command line, as
 * `verifyAuditChain` does. Exit 0 when it is intact; 1 when it is broken, with the reason and
 * the first broken record printed.
 */
export async function auditVerify(root: string, env: Record<string, string | undefined>): Promise<number> {
  const config = loadConfig({ env, cwd: root });
  return withModuleRuntime(audit, config, async (_runtime, services) => {
    const report = await services.verify();
    const from = report.checkpointSeq === null ? '' : ` (from the checkpoint after record ${report.checkpointSeq})`;
    if (report.valid) {
      console.log(`audit chain valid: ${report.checked} records checked${from}`);
      return 0;
    }
    console.error(`audit chain BROKEN: ${report.reason}`);
    console.error(`${report.checked} records checked before the break${from}`);
    const record = report.firstBrokenId ? await services.record(report.firstBrokenId) : undefined;
    if (record) {
      console.log(`first broken record (seq ${record.seq}, id ${record.id}):`);
      console.log(JSON.stringify(record, null, 2));
    }
    return 1;
  });
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
