import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

const ROOT = new URL('..', import.meta.url).pathname;
const SERVICES = ['identity', 'authz', 'audit', 'blog'] as const;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

interface Started {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

const READY_WITHIN_MS = 75_000;

/** Runs the same entry point as `npm start`, with JSON logs, on free ports. */
async function start(env: Record<string, string>, gatewayPort: number): Promise<Started> {
  const child = spawn(process.execPath, ['--import', './scripts/register.mjs', 'scripts/src/start.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let index: number;
    while ((index = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // Readiness is not what this measures: on this shared 2-core machine, with the other suites'
  // workers busy, a cold start (embedded database, every migration, the seed) has taken over 30 s.
  const deadline = Date.now() + READY_WITHIN_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`platform exited early (${child.exitCode}): ${stderr}`);
    try {
      const response = await fetch(`http://127.0.0.1:${gatewayPort}/ready`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`platform not ready in ${READY_WITHIN_MS / 1000} s: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { child, lines, exited };
}

async function postIds(gatewayPort: number): Promise<string[]> {
  const response = await fetch(`http://127.0.0.1:${gatewayPort}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'abc' },
    body: JSON.stringify({ query: '{ posts(first: 5) { edges { node { id title author { id displayName } } } } }' }),
  });
  expect(response.headers.get('x-request-id')).toBe('abc');
  const body = (await response.json()) as {
    data: { posts: { edges: Array<{ node: { id: string; author: { displayName: string } } }> } };
  };
  for (const edge of body.data.posts.edges) expect(edge.node.author.displayName).toEqual(expect.any(String));
  return body.data.posts.edges.map((e) => e.node.id);
}

describe('npm start (the whole supergraph as one process)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'platform-start-'));
  const suffix = randomBytes(4).toString('hex');
  let env: Record<string, string>;
  let gatewayPort: number;

  beforeAll(async () => {
    gatewayPort = await freePort();
    env = {
      PLATFORM_ENV: 'test',
      // Not 'test' (Jest's default): libraries behave as they do for users, e.g. Apollo's
      // own signal handlers, which once killed the process mid-shutdown.
      NODE_ENV: 'development',
      PLATFORM_DEMO_DATA: 'true',
      PLATFORM_LOG__LEVEL: 'info',
      DATA_DIR: dataDir,
      PLATFORM_GATEWAY__PORT: String(gatewayPort),
    };
    for (const name of SERVICES) {
      const port = await freePort();
      env[`PLATFORM_SERVICES__${name.toUpperCase()}__PORT`] = String(port);
      env[`PLATFORM_SERVICES__${name.toUpperCase()}__URL`] = `http://127.0.0.1:${port}/graphql`;
      if (process.env.DATABASE_URL) env[`PLATFORM_SERVICES__${name.toUpperCase()}__DB_SCHEMA`] = `t_${suffix}_${name}`;
    }
  });

  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (process.env.DATABASE_URL) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      for (const name of SERVICES) await client.query(`drop schema if exists "t_${suffix}_${name}" cascade`);
      await client.end();
    }
  });

  it(
    'serves the cross-subgraph query, correlates logs, stops on Ctrl-C in 5 s and keeps data across restarts',
    async () => {
      const first = await start(env, gatewayPort);
      let ids: string[];
      try {
        ids = await postIds(gatewayPort);
        expect(ids).toHaveLength(5);

        // The gateway's and the subgraphs' lines for request `abc` carry the same trace id.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const tagged = first.lines.filter((line) => line.requestId === 'abc');
        const modules = new Set(tagged.map((line) => line.module));
        expect(modules).toEqual(new Set(['gateway', 'blog', 'identity']));
        const traceIds = new Set(tagged.map((line) => line.traceId));
        expect(traceIds.size).toBe(1);
        expect([...traceIds][0]).toMatch(/^[0-9a-f]{32}$/);
      } finally {
        const stopped = Date.now();
        first.child.kill('SIGINT');
        expect(await first.exited).toBe(0);
        expect(Date.now() - stopped).toBeLessThan(5000);
      }

      const second = await start(env, gatewayPort);
      try {
        expect(await postIds(gatewayPort)).toEqual(ids);
      } finally {
        second.child.kill('SIGINT');
        expect(await second.exited).toBe(0);
      }
    },
    4 * READY_WITHIN_MS,
  );
});
