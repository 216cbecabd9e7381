import type { Logger } from 'pino';
import type { RevocationList } from './revocation-list.js';

/** identity's side of the contract: subgraphs/identity/src/module.ts. */
export const REVOCATIONS_PATH = '/internal/revocations';

export interface RevocationPrimingOptions {
  /** identity's base URL, or a function returning it once known. */
  url: string | (() => string | undefined);
  revocations: RevocationList;
  logger: Logger;
  /** First retry delay; doubles up to `maxDelayMs`. Default 500 ms. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Time allowed for one request. Default 5 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Loads the revocations identity made before this service subscribed to its broadcasts: a
 * service that starts (or restarts) after a logout must not honour that session's still
 * unexpired access token. Tries at once and, while identity is unreachable, again with backoff
 * in the background; the returned function stops retrying. Resolves after the first attempt.
 */
export async function primeRevocations(options: RevocationPrimingOptions): Promise<() => void> {
  const fetchImpl = options.fetch ?? fetch;
  const maxDelay = options.maxDelayMs ?? 30_000;
  let delay = options.baseDelayMs ?? 500;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const attempt = async (): Promise<boolean> => {
    const base = typeof options.url === 'function' ? options.url() : options.url;
    if (!base) return false;
    const url = new URL(REVOCATIONS_PATH, base).toString();
    try {
      const response = await fetchImpl(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
      if (!response.ok) throw new Error(`identity answered ${response.status}`);
      options.revocations.load((await response.json()) as never);
      options.logger.debug({ url, entries: options.revocations.size }, 'revocations loaded from identity');
      return true;
    } catch (error) {
      options.logger.warn(
        { url, err: error instanceof Error ? error.message : String(error), retryInMs: delay },
        'could not load revocations from identity; retrying',
      );
      return false;
    }
  };

  const retry = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void attempt().then((done) => {
        if (done) return;
        delay = Math.min(delay * 2, maxDelay);
        retry();
      });
    }, delay);
    timer.unref();
  };

  if (!(await attempt())) retry();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
