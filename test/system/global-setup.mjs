/**
 * One running supergraph for every system suite (the browser, Prometheus): started the way a
 * new user starts it (`npm start`: scripts/src/start.ts, development config, the embedded
 * database) in a private data directory on free ports, and stopped by global-teardown.mjs.
 * Suites read its addresses from SYSTEM_STACK (JSON: { gateway, dataDir, subgraphs }).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MODULES = ['identity', 'authz', 'audit', 'blog'];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One try at `npm start` on fresh free ports: resolves with the running child and its ports. */
async function startStack(dataDir) {
  const ports = { gateway: await freePort() };
  for (const name of MODULES) ports[name] = await freePort();
  const env = { ...process.env, DATA_DIR: dataDir, PLATFORM_ENV: 'development', APOLLO_TELEMETRY_DISABLED: 'true' };
  // `npm start` is the embedded database and no Redis: what a new user runs.
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  delete env.NODE_ENV;
  env.PLATFORM_GATEWAY__PORT = String(ports.gateway);
  for (const name of MODULES) env[`PLATFORM_SERVICES__${name.toUpperCase()}__PORT`] = String(ports[name]);

  const child = spawn(process.execPath, ['--import', './scripts/register.mjs', 'scripts/src/start.ts'], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`the supergraph did not start in 180 s:\n${output}`));
    }, 180_000);
    const onData = (chunk) => {
      output += chunk.toString();
      if (output.includes('Supergraph ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      const error = new Error(`npm start exited with ${code} before it was ready:\n${output}`);
      error.portTaken = output.includes('EADDRINUSE');
      reject(error);
    });
  });
  // Keep draining its output so the pipe never fills and stalls the stack.
  child.stdout.resume();
  child.stderr.resume();
  return { child, ports };
}

export default async function globalSetup() {
  const dataDir = mkdtempSync(join(tmpdir(), 'platform-system-'));
  let started;
  // A port found free can be taken by another program before the stack binds it: try new ones.
  for (let attempt = 1; !started; attempt++) {
    try {
      started = await startStack(dataDir);
    } catch (error) {
      if (!error.portTaken || attempt === 3) throw error;
    }
  }
  const { child, ports } = started;
  globalThis.__SYSTEM_STACK__ = child;
  const subgraphs = Object.fromEntries(MODULES.map((name) => [name, `http://127.0.0.1:${ports[name]}`]));
  process.env.SYSTEM_STACK = JSON.stringify({
    gateway: `http://127.0.0.1:${ports.gateway}`,
    dataDir,
    pid: child.pid,
    subgraphs,
  });
}
