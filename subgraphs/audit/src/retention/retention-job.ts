import type { Logger } from '@platform/kernel';
import type { AuditPruner, PruneResult } from './pruner.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The cutoff for a retention of `days`: records that happened before it are pruned. */
export const retentionCutoff = (days: number, now = Date.now()): Date => new Date(now - days * DAY_MS);

/**
 * The retention run: archives and prunes every record past retention, a batch at a time. The
 * `retention` schedule of module.yaml runs it once per deployment per tick (`platformctl jobs
 * list`); runs never overlap, here or across instances: a run that finds another instance (or
 * `platformctl audit prune`) pruning leaves the work to it.
 */
export class RetentionJob {
  readonly #pruner: AuditPruner;
  readonly #retentionDays: number;
  readonly #logger: Logger;

  constructor(deps: { pruner: AuditPruner; retentionDays: number; logger: Logger }) {
    this.#pruner = deps.pruner;
    this.#retentionDays = deps.retentionDays;
    this.#logger = deps.logger.child({ component: 'audit-retention' });
  }

  /** One run; stops between batches once `signal` aborts (shutdown, timeout). Throws what failed: records are kept. */
  async run(signal?: AbortSignal): Promise<PruneResult> {
    let total = 0;
    let last: PruneResult;
    do {
      last = await this.#pruner.prune(retentionCutoff(this.#retentionDays), { wait: false });
      total += last.pruned;
    } while (last.pruned > 0 && !signal?.aborted);
    return { ...last, pruned: total };
  }

  /** {@link run}, its failure logged instead of thrown. */
  async runOnce(): Promise<PruneResult | undefined> {
    try {
      return await this.run();
    } catch (error) {
      this.#logger.error({ err: error }, 'audit retention run failed; records kept');
      return undefined;
    }
  }
}
