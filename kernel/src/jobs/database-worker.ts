import type { Logger } from 'pino';
import type { QueueDefinition } from './queue.js';

/** A claimed job, as the claim's `returning` answers it. */
export interface ClaimedRow {
  id: string;
  queue: string;
  payload: unknown;
  attempts: number;
  max_attempts: number;
}

/** What a worker needs of the database backend. */
export interface WorkerHost {
  readonly stopping: boolean;
  readonly options: { logger: Logger; pollIntervalMs: number };
  claim(queue: string, limit: number): Promise<ClaimedRow[]>;
  process(queue: QueueDefinition, row: ClaimedRow): Promise<void>;
}

/** One queue's claim loop in this instance: at most `concurrency` jobs at once. */
export class QueueWorker {
  readonly #backend: WorkerHost;
  readonly queue: QueueDefinition;
  readonly #running = new Set<Promise<void>>();
  #wake: (() => void) | undefined;
  #woken = false;

  constructor(backend: WorkerHost, queue: QueueDefinition) {
    this.#backend = backend;
    this.queue = queue;
  }

  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  drained(): Promise<void> {
    return Promise.all(this.#running).then(() => undefined);
  }

  async run(): Promise<void> {
    const { concurrency } = this.queue.options;
    const { logger, pollIntervalMs } = this.#backend.options;
    while (!this.#backend.stopping) {
      this.#woken = false;
      const free = concurrency - this.#running.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const rows = await this.#backend.claim(this.queue.name, free);
          claimed = rows.length;
          for (const row of rows) {
            const running: Promise<void> = this.#backend.process(this.queue, row).finally(() => {
              this.#running.delete(running);
              this.wake();
            });
            this.#running.add(running);
          }
        } catch (error) {
          if (this.#backend.stopping) break;
          logger.warn({ err: error, queue: this.queue.name }, 'could not claim jobs');
        }
      }
      if (claimed > 0 && claimed === free) continue;
      if (this.#woken || this.#backend.stopping) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollIntervalMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}
