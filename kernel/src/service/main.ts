import type { Logger } from 'pino';
import { ConfigError } from '../config/config-error.js';
import { processErrorBus } from '../error-bus/error-bus.js';

type ProcessFailure = 'uncaughtException' | 'unhandledRejection';

/**
 * Runs a service (or several) as a process: stops gracefully on SIGTERM/SIGINT, exits 1 if
 * start fails or stop exceeds `forceExitMs`. An `uncaughtException` or `unhandledRejection` is
 * published to the error bus (kind `process`: logged, counted, sent to Sentry), then the process
 * stops the same graceful way and exits 1, so its supervisor restarts it: after an error nobody
 * caught, its state cannot be trusted. Only entry points (`main.ts`) call this.
 */
export async function runMain(
  start: () => Promise<{ stop(): Promise<void> }>,
  options: { logger?: Pick<Logger, 'info' | 'error'>; forceExitMs?: number } = {},
): Promise<void> {
  const forceExitMs = options.forceExitMs ?? 5000;
  let handle: { stop(): Promise<void>; logger?: Pick<Logger, 'info' | 'error'> } | undefined;
  // The caller's logger, else the service's own once it runs (a subgraph's main passes none).
  const logger = (): Pick<Logger, 'info' | 'error'> | undefined => options.logger ?? handle?.logger;
  let stopping = false;
  /** 1 once a process-level failure happened: the exit code, whatever stops the process. */
  let exitCode = 0;

  const stop = (reason: string): void => {
    const log = logger();
    if (stopping) {
      log?.info({ signal: reason }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log?.info({ signal: reason }, 'shutting down');
    const force = setTimeout(() => {
      log?.error({ forceExitMs }, 'shutdown took too long, exiting');
      process.exit(1);
    }, forceExitMs);
    force.unref();
    // Every service's error bus is closed (and flushed) last by its own teardown.
    handle!.stop().then(
      () => {
        log?.info('stopped');
        process.exit(exitCode);
      },
      (error: unknown) => {
        log?.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };

  const failed = (origin: ProcessFailure, error: unknown): void => {
    publishProcessFailure(origin, error, logger());
    // While stopping (for a signal, or an earlier failure) the shutdown goes on, and ends in exit 1.
    // Before start finished there is nothing to stop yet: that happens once it has.
    exitCode = 1;
    if (handle && !stopping) stop(origin);
  };
  // Installed before start: a timer or a promise of a service still starting is covered too.
  process.on('uncaughtException', (error) => failed('uncaughtException', error));
  process.on('unhandledRejection', (reason) => failed('unhandledRejection', reason));

  try {
    handle = await start();
  } catch (error) {
    // A bad setting is the operator's to correct: the lines naming it (and who set it), no stack.
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    const log = logger();
    if (log) log.error({ err: error }, 'failed to start');
    else process.stderr.write(`failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
  if (exitCode !== 0) stop('uncaughtException');
  // `on`, not `once`: a library using signal-exit re-raises the signal (killing the process
  // mid-drain) when it finds no other listener left.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** To the bus of the service that reports the process's metrics; to the log or stderr when no service runs. */
function publishProcessFailure(
  origin: ProcessFailure,
  error: unknown,
  log: Pick<Logger, 'info' | 'error'> | undefined,
): void {
  const message = origin === 'uncaughtException' ? 'uncaught exception' : 'unhandled promise rejection';
  const bus = processErrorBus();
  if (bus) bus.report(error, { kind: 'process', message, extra: { origin } });
  else if (log) log.error({ err: error, kind: 'process', origin }, message);
  else process.stderr.write(`${message}: ${(error as Error)?.stack ?? String(error)}\n`);
}
