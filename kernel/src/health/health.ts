/** The state of one dependency, as shown by `GET /ready`. */
export interface CheckResult {
  ok: boolean;
  /** Short human-readable detail (error message, counts, versions). */
  detail?: string;
  [key: string]: unknown;
}

export type ReadinessCheck = () => Promise<CheckResult> | CheckResult;

const CHECK_TIMEOUT_MS = 2000;

/**
 * Named readiness checks. The service is ready once `markStarted()` was called and every
 * check passes; each check is bounded by a timeout so a hung dependency reports instead of
 * hanging the probe.
 */
export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();
  #started = false;
  #stopping = false;

  register(name: string, check: ReadinessCheck): void {
    if (this.#checks.has(name)) throw new Error(`readiness check "${name}" registered twice`);
    this.#checks.set(name, check);
  }

  markStarted(): void {
    this.#started = true;
  }

  /** Once shutting down, the service reports not ready so load balancers drain it. */
  markStopping(): void {
    this.#stopping = true;
  }

  async evaluate(): Promise<{ ready: boolean; status: string; checks: Record<string, CheckResult> }> {
    const entries = await Promise.all(
      [...this.#checks].map(async ([name, check]) => [name, await runCheck(check)] as const),
    );
    const checks = Object.fromEntries(entries);
    const allOk = entries.every(([, result]) => result.ok);
    const status = this.#stopping ? 'stopping' : !this.#started ? 'starting' : allOk ? 'ready' : 'degraded';
    return { ready: status === 'ready', status, checks };
  }
}

async function runCheck(check: ReadinessCheck): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(check),
      new Promise<CheckResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, detail: `timed out after ${CHECK_TIMEOUT_MS} ms` }),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
