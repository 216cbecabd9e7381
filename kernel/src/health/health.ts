import { Gauge, type Registry } from 'prom-client';
import { outsideRequest } from '../http/request-context.js';

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
  readonly #checks = new Map<string, { check: ReadinessCheck; critical: boolean }>();
  #started = false;
  #stopping = false;

  /**
   * Adds a check. A critical one (the default: the database) makes the service not ready while it
   * fails; one that is not (Redis, identity's revocations, authz) is reported with its error and
   * latency, and the service says `degraded` but stays ready: it serves what it can without it.
   */
  register(name: string, check: ReadinessCheck, options: { critical?: boolean } = {}): void {
    if (this.#checks.has(name)) throw new Error(`readiness check "${name}" registered twice`);
    this.#checks.set(name, { check, critical: options.critical ?? true });
  }

  markStarted(): void {
    this.#started = true;
  }

  /**
   * `dependency_up{dependency}` (1/0) and `dependency_check_seconds{dependency}` in `registry`,
   * taken from the checks at each scrape (at most once a second), so dashboards and alerts see
   * each dependency without anyone polling `/ready`.
   */
  exposeMetrics(registry: Registry): void {
    let last: { at: number; report: Promise<Awaited<ReturnType<Readiness['evaluate']>>> } | undefined;
    const report = () => {
      // A scrape is a request, but its checks are the service's own background work.
      if (!last || performance.now() - last.at > 1000) {
        last = { at: performance.now(), report: outsideRequest(() => this.evaluate()) };
      }
      return last.report;
    };
    new Gauge({
      name: 'dependency_up',
      help: 'Whether each dependency of the service answers its readiness check (1) or not (0)',
      labelNames: ['dependency'],
      registers: [registry],
      async collect() {
        for (const [dependency, result] of Object.entries((await report()).checks)) {
          this.set({ dependency }, result.ok ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'dependency_check_seconds',
      help: 'How long each dependency took to answer its readiness check',
      labelNames: ['dependency'],
      registers: [registry],
      async collect() {
        for (const [dependency, result] of Object.entries((await report()).checks)) {
          this.set({ dependency }, Number(result.latencyMs ?? 0) / 1000);
        }
      },
    });
  }

  /** Once shutting down, the service reports not ready so load balancers drain it. */
  markStopping(): void {
    this.#stopping = true;
  }

  async evaluate(): Promise<{ ready: boolean; status: string; checks: Record<string, CheckResult> }> {
    const entries = await Promise.all(
      [...this.#checks].map(async ([name, { check, critical }]) => [name, await runCheck(check), critical] as const),
    );
    const checks = Object.fromEntries(
      entries.map(([name, result, critical]) => [name, critical ? result : { ...result, critical }]),
    );
    const criticalOk = entries.every(([, result, critical]) => result.ok || !critical);
    const allOk = entries.every(([, result]) => result.ok);
    const ready = this.#started && !this.#stopping && criticalOk;
    const status = this.#stopping
      ? 'stopping'
      : !this.#started
        ? 'starting'
        : !criticalOk
          ? 'unavailable'
          : allOk
            ? 'ready'
            : 'degraded';
    return { ready, status, checks };
  }
}

/** Runs one check within the timeout, adding how long it took (`latencyMs`). */
async function runCheck(check: ReadinessCheck): Promise<CheckResult> {
  const started = performance.now();
  const result = await settle(check);
  return { ...result, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
}

async function settle(check: ReadinessCheck): Promise<CheckResult> {
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
