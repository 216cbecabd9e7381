import type { Logger } from '@platform/kernel';
import type { AuditPruner, PruneResult } from './pruner.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The cutoff for a retention of `days`: records that happened before it are pruned. */
export const retentionCutoff = (days: number, now = Date.now()): Date => new Date(now - days * DAY_MS);

/**
 * Prunes on a timer in a running audit service: shortly after start, then every interval. Runs
 * never overlap, here or across instances: a run that finds another instance (or `platformctl
 * audit prune`) pruning leaves the work to it. A failed run is logged and retried at the next
 * tick. The timer never keeps the process alive, and `stop()` waits for a run in progress.
 */
export class RetentionJob {
  readonly #pruner: AuditPruner;
  readonly #retentionDays: number;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(deps: { pruner: AuditPruner; retentionDays: number; intervalMinutes: number; logger: Logger }) {
    this.#pruner = deps.pruner;
    this.#retentionDays = deps.retentionDays;
    this.#intervalMs = deps.intervalMinutes * 60_000;
    this.#logger = deps.logger.child({ component: 'audit-retention' });
  }

  start(firstRunInMs = 30_000): void {
    if (this.#timer || this.#stopped) return;
    this.#schedule(Math.min(firstRunInMs, this.#intervalMs));
  }

  /** One run now (also what the timer does). */
  async runOnce(): Promise<PruneResult | undefined> {
    try {
      let total = 0;
      let last: PruneResult;
      // A run prunes everything past retention, a batch at a time.
      do {
        last = await this.#pruner.prune(retentionCutoff(this.#retentionDays), { wait: false });
        total += last.pruned;
      } while (last.pruned > 0 && !this.#stopped);
      return { ...last, pruned: total };
    } catch (error) {
      this.#logger.error({ err: error }, 'audit retention run failed; records kept');
      return undefined;
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(delayMs: number): void {
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().then(() => undefined);
      void this.#running.finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#schedule(this.#intervalMs);
      });
    }, delayMs);
    this.#timer.unref();
  }
}
