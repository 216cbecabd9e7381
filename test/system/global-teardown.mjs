/** Stops the supergraph global-setup.mjs started: SIGTERM (a graceful shutdown), then SIGKILL. */
export default async function globalTeardown() {
  const child = globalThis.__SYSTEM_STACK__;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 10_000);
  await exited;
  clearTimeout(timer);
}
