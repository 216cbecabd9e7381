/**
 * One clock for every thread and process of a benchmark run. `performance.timeOrigin +
 * performance.now()` is each thread's and each process's own reading of the wall clock at its
 * start, and two of them disagree by several ms (a loaded CI run measured a server-write →
 * client-read p50 of -4.4 ms). Here time is CLOCK_MONOTONIC (`process.hrtime`, one clock for the
 * whole machine on Linux) mapped to epoch ms by a single base: the run's main thread takes it and
 * hands it to its worker threads (workerData) and child processes (argv) with `shareClock`.
 */
const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

let base = Date.now() - monotonicMs();

/** This thread's base (epoch ms at monotonic zero), to hand to a worker or child process. */
export const clockBase = (): number => base;

/** Adopt the base of the thread or process that started this one. */
export function shareClock(value: number): void {
  if (Number.isFinite(value)) base = value;
}

/** Epoch milliseconds with sub-millisecond precision, comparable across threads and processes of one run. */
export const now = (): number => base + monotonicMs();
