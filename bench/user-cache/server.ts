// The servers of the user-cache benchmark (bench/user-cache.ts), in a child process of their own so
// the load generator never shares their event loop: two identity subgraphs, one with the user
// cache (`userCacheTtlSec` 60) and one without (0), each on its own database (embedded PGlite, or
// a scratch schema of DATABASE_URL) holding the same users. Prints one line `READY <json>` with
// their URLs and the users' ids, and stops both on SIGINT/SIGTERM.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, startSubgraph, type SubgraphHandle } from '@platform/kernel/tools';
import identity from '@platform/identity';

const USERS = Number(process.env.BENCH_USERS ?? 200);

interface Peer {
  name: string;
  handle: SubgraphHandle;
  dataDir: string;
}

async function startPeer(name: string, userCacheTtlSec: number, ids: string[]): Promise<Peer> {
  const dataDir = mkdtempSync(join(tmpdir(), `bench-user-cache-${name}-`));
  const suffix = randomBytes(3).toString('hex');
  const config = loadConfig({
    env: { ...process.env, PLATFORM_ENV: 'test' },
    overrides: {
      dataDir,
      redis: { keyPrefix: `bench:${suffix}` },
      services: {
        identity: { port: 0, ...(process.env.DATABASE_URL ? { dbSchema: `bench_${suffix}_identity` } : {}) },
      },
      modules: { identity: { userCacheTtlSec } },
    },
  });
  const handle = await startSubgraph(identity, { config, port: 0 });
  // Plain rows, as identity's registration would leave them once verified.
  const values = ids.map(() => '(?, ?, ?, true, now(), now())').join(', ');
  await handle.runtime
    .em()
    .getConnection()
    .execute(
      `insert into "${handle.runtime.db.schema}"."user" (id, email, display_name, email_verified, created_at, updated_at) values ${values}`,
      ids.flatMap((id) => [id, `${id}@bench.example`, `User ${id.slice(0, 8)}`]),
    );
  return { name, handle, dataDir };
}

async function stopPeer(peer: Peer): Promise<void> {
  const { db } = peer.handle.runtime;
  if (db.kind !== 'pglite') await db.fork().getConnection().execute(`drop schema if exists "${db.schema}" cascade`);
  await peer.handle.stop();
  rmSync(peer.dataDir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const ids = Array.from({ length: USERS }, () => randomUUID());
  const peers = [await startPeer('cached', 60, ids), await startPeer('uncached', 0, ids)];
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const peer of peers) await stopPeer(peer).catch((error: Error) => console.error(error.message));
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  const urls = Object.fromEntries(
    peers.map((peer) => [peer.name, { url: peer.handle.url, baseUrl: peer.handle.baseUrl }]),
  );
  console.log(`READY ${JSON.stringify({ peers: urls, ids })}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
