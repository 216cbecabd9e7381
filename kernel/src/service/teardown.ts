import type { Logger } from 'pino';

/**
 * What a service started, undone in reverse order: each step registers how to undo itself as
 * soon as it succeeded, so a failure halfway through start undoes exactly what was done.
 */
export class Teardown {
  readonly #steps: Array<() => Promise<void> | void> = [];
  readonly #logger: Logger;
  #running: Promise<void> | undefined;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  add(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  /** Runs every step, newest first; a failing step is logged and the rest still run. Idempotent. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      while (this.#steps.length > 0) {
        try {
          await this.#steps.pop()!();
        } catch (error) {
          this.#logger.error({ err: error }, 'error while stopping');
        }
      }
    })().finally(() => (this.#running = undefined));
    return this.#running;
  }
}
