import type { Logger } from 'pino';
import type { ErrorReporter } from '../error-bus/error-bus.js';
import { PlatformError } from '../errors.js';
import type { JobMetrics, TryOutcome } from './metrics.js';
import { PermanentJobError, type QueueDefinition } from './queue.js';

/** One try to run, as a backend hands it over. */
export interface TryInput {
  id: string;
  /** The queue's full name, `<module>.<queue>`. */
  queue: string;
  payload: unknown;
  /** 1 on the first try. */
  attempt: number;
  maxAttempts: number;
  /** Aborted at shutdown (after the shutdown bound). */
  shutdown: AbortSignal;
}

/** How a try ended. */
export interface TryResult {
  outcome: TryOutcome;
  /** The failure, as stored and listed (no stack). */
  error?: string;
  /** The instance stopped before the try ended: hand the job back untouched. */
  interrupted?: boolean;
}

/** Thrown into a try's signal when it runs past its timeout. */
export class JobTimeoutError extends Error {
  constructor(ms: number) {
    super(`the job ran longer than its timeout (${ms} ms)`);
    this.name = 'JobTimeoutError';
  }
}

/**
 * Runs one try of a job: its handler with a signal aborted at the queue's timeout (or at shutdown),
 * the try failing at the timeout even if the handler ignores its signal. Counted and timed.
 */
export async function runTry(
  definition: QueueDefinition,
  input: TryInput,
  logger: Logger,
  metrics: JobMetrics,
  errors?: ErrorReporter,
): Promise<TryResult> {
  const { timeoutMs } = definition.options;
  const controller = new AbortController();
  const jobLogger = logger.child({ queue: input.queue, jobId: input.id, attempt: input.attempt });
  let timer: NodeJS.Timeout | undefined;
  const onShutdown = (): void => controller.abort(input.shutdown.reason);
  input.shutdown.addEventListener('abort', onShutdown, { once: true });
  const stopped = new Promise<never>((_, reject) => {
    timer = setTimeout(() => controller.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  stopped.catch(() => undefined);
  const started = performance.now();
  try {
    await Promise.race([
      definition.handler(input.payload, {
        id: input.id,
        queue: input.queue,
        attempt: input.attempt,
        maxAttempts: input.maxAttempts,
        signal: controller.signal,
        logger: jobLogger,
      }),
      stopped,
    ]);
    metrics.observe(input.queue, 'completed', (performance.now() - started) / 1000);
    return { outcome: 'completed' };
  } catch (error) {
    if (input.shutdown.aborted) {
      jobLogger.warn('job interrupted by shutdown: handed back');
      return { outcome: 'failed', interrupted: true };
    }
    const last = input.attempt >= input.maxAttempts || error instanceof PermanentJobError;
    const outcome: TryOutcome = last ? 'dead' : 'failed';
    metrics.observe(input.queue, outcome, (performance.now() - started) / 1000);
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // A dead job is always published; a retried try only when nothing expected it (a typed
    // business error is the job saying "not now", logged as such).
    const expected = error instanceof PermanentJobError || error instanceof PlatformError;
    const published =
      errors !== undefined &&
      (last || !expected) &&
      errors.report(error, {
        kind: 'job',
        message: last ? 'job failed for the last time: dead' : 'job failed: will be retried',
        queue: input.queue,
        jobId: input.id,
        attempt: input.attempt,
        ...(last ? { dead: true } : {}),
        extra: { maxAttempts: input.maxAttempts },
      });
    // Published: the bus logged it, with the job's fields.
    if (!published && last) jobLogger.error({ err: error }, 'job failed for the last time: dead');
    else if (!published) jobLogger.warn({ err: error }, 'job failed: will be retried');
    return { outcome, error: message.slice(0, 2000) };
  } finally {
    clearTimeout(timer);
    input.shutdown.removeEventListener('abort', onShutdown);
  }
}
