import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { serviceSecret } from '@platform/kernel/gateway';
import type { TestPlatform } from './helpers.js';

const ROOT = new URL('..', import.meta.url).pathname;

export interface SecondProcess {
  gatewayUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts test/fixtures/second-process-main.ts beside `platform`: a gateway and blog of its own
 * that use the first platform's identity, authz and audit, its database server and its Redis
 * (same key prefix, so the same event streams and broadcasts). Blog's embedded database, if
 * any, is its own.
 */
export async function startSecondProcess(platform: TestPlatform, timeoutMs = 30_000): Promise<SecondProcess> {
  const first = platform.subgraphs.identity!.runtime.platform;
  const dataDir = mkdtempSync(join(tmpdir(), 'platform-second-'));
  const services = Object.fromEntries(
    Object.entries(first.services).map(([name, service]) => [
      name,
      { ...service, port: 0, url: platform.subgraphs[name]?.url ?? service.url },
    ]),
  );
  const config = {
    ...first,
    dataDir,
    services,
    gateway: { ...first.gateway, port: 0 },
    // One deployment: the first platform's service secret (its own is generated under its data directory).
    auth: {
      ...first.auth,
      serviceSecret: serviceSecret(first),
      jwksUrl: `${platform.subgraphs.identity!.baseUrl}/.well-known/jwks.json`,
    },
  };
  const child = spawn(
    process.execPath,
    ['--import', './scripts/register.mjs', 'test/fixtures/second-process-main.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, SECOND_PROCESS_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const gatewayUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`second process not ready in ${timeoutMs} ms:\n${stderr}`)),
      timeoutMs,
    );
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`second process exited with ${code}:\n${stderr}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const message = JSON.parse(line) as { gatewayUrl?: string };
        if (message.gatewayUrl) {
          clearTimeout(timer);
          resolve(message.gatewayUrl);
        }
      } catch {
        // a log line
      }
    });
  });
  return {
    gatewayUrl,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
