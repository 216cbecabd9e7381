import type { Logger } from 'pino';
import { ConfigError } from '../config/config-error.js';

/**
 * Runs a service (or several) as a process: stops gracefully on SIGTERM/SIGINT, exits 1 if
 * start fails or stop exceeds `forceExitMs`. Only entry points (`main.ts`) call this.
 */
export async function runMain(
  start: () => Promise<{ stop(): Promise<void> }>,
  options: { logger?: Pick<Logger, 'info' | 'error'>; forceExitMs?: number } = {},
): Promise<void> {
  const log = options.logger;
  let handle: { stop(): Promise<void> };
  try {
    handle = await start();
  } catch (error) {
    // A bad setting is the operator's to correct: the lines naming it (and who set it), no stack.
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    if (log) log.error({ err: error }, 'failed to start');
    else process.stderr.write(`failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log?.info({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log?.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log?.error({ forceExitMs: options.forceExitMs ?? 5000 }, 'shutdown took too long, exiting');
      process.exit(1);
    }, options.forceExitMs ?? 5000);
    force.unref();
    handle.stop().then(
      () => {
        log?.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log?.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: a library using signal-exit re-raises the signal (killing the process
  // mid-drain) when it finds no other listener left.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
