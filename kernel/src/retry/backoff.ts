/** How an exponential backoff grows. */
export interface BackoffOptions {
  /** The first delay (attempt 1). */
  baseMs: number;
  /** No delay exceeds this. */
  maxMs: number;
  /**
   * `equal`: half the delay fixed, half random, so many clients retrying together spread out
   * yet none retries at once; `none`: exactly the computed delay.
   */
  jitter?: 'equal' | 'none';
}

/**
 * The delay before retry number `attempt` (1 for the first retry): `baseMs` doubled per attempt,
 * capped at `maxMs`. The one backoff of the kernel: event redelivery, the outbox relay, Redis
 * reconnects and the revocation reads all use it.
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const delay = Math.min(options.maxMs, options.baseMs * 2 ** exponent);
  return options.jitter === 'equal' ? Math.round(delay / 2 + (Math.random() * delay) / 2) : delay;
}
