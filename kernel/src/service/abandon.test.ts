// A subgraph stops working on a request nobody will read: the client went away, or the deadline
// the gateway passed on ran out. Resolvers not yet started then fail at once instead of running.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Arg, Field, FieldResolver, Int, ObjectType, Query, Resolver, Root } from 'type-graphql';
import { StaticPermissions } from '../graphql/permissions.js';
import { publicAccess } from '../graphql/rules.js';
import { DEADLINE_HEADER } from '../http/server.js';
import { defineModule } from '../module/define.js';
import { startTestSubgraph, waitFor, type TestSubgraph } from '../testing/index.js';

const STEP_MS = 100;
let started = 0;

@ObjectType()
class Item {
  @Field(() => Int)
  n!: number;
}

@Resolver(() => Item)
class ItemResolver {
  @Query(() => [Item])
  items(@Arg('count', () => Int) count: number): Item[] {
    return Array.from({ length: count }, (_, n) => ({ n }));
  }

  /** Slow work per item, counted when it starts. */
  @FieldResolver(() => [Item])
  async children(@Root() item: Item, @Arg('count', () => Int) count: number): Promise<Item[]> {
    started++;
    await new Promise((resolve) => setTimeout(resolve, STEP_MS));
    return Array.from({ length: count }, (_, n) => ({ n: item.n * 1000 + n }));
  }
}

/** Two levels of slow fields: 20 at the first, 400 more at the second if nothing stops them. */
const QUERY = '{ items(count: 20) { children(count: 20) { children(count: 1) { n } } } }';

function post(url: string, headers: Record<string, string> = {}) {
  const body = JSON.stringify({ query: QUERY });
  return request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': String(body.length), ...headers },
  }).end(body);
}

describe('abandoned requests', () => {
  let dir: string;
  let handle: TestSubgraph;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'probe-module-'));
    writeFileSync(join(dir, 'module.yaml'), 'name: probe\nversion: 0.1.0\nkernel: ^0.1.0\npermissions: []\n');
    const probe = defineModule({
      manifest: join(dir, 'module.yaml'),
      entities: [],
      migrations: [],
      resolvers: [ItemResolver],
      rules: { Query: { items: publicAccess }, Item: publicAccess },
    });
    handle = await startTestSubgraph(probe, {
      permissions: new StaticPermissions({}),
      overrides: { services: { probe: { port: 0, dbSchema: `t_${randomBytes(4).toString('hex')}_probe` } } },
    });
  });

  afterAll(async () => {
    await handle?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs every level when the client waits (the baseline)', async () => {
    started = 0;
    const { status, body } = await handle.query(QUERY);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(started).toBe(20 + 400);
  });

  it('stops when the client goes away: the second level never starts', async () => {
    started = 0;
    const req = post(handle.url);
    req.on('error', () => {});
    await waitFor(() => started === 20, 'the first level to start');
    req.destroy();
    // Long enough for the second level to have started, had the request gone on.
    await new Promise((resolve) => setTimeout(resolve, STEP_MS * 4));
    expect(started).toBe(20);
  });

  it('stops at the deadline the gateway passed on', async () => {
    started = 0;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      post(handle.url, { [DEADLINE_HEADER]: String(STEP_MS / 2) })
        .on('response', (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ errors: [{ extensions: { code: 'TIMEOUT' } }] });
    await new Promise((resolve) => setTimeout(resolve, STEP_MS * 4));
    expect(started).toBe(20);
  });
});
