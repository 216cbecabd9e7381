// The permission-check benchmark: `npm run bench:permissions`.
//
// Two questions, in one process and without the platform (nothing here waits on a database):
//  1. What does a cached `ctx.can()` cost? A RemotePermissions warmed against a fake authz
//     answers from its cache; measured through `permissionCheck` (a fresh one per "request", as
//     the kernel builds it) and as the raw `permissionsOf` hit. Target: ≤ 0.05 ms per check.
//  2. What does shield add to a typical query? The same `posts` query (20 posts, 5 fields each
//     and a nested author) executed on the bare type-graphql schema and on the schema wrapped by
//     the kernel's `applyRules`, with a fresh context (and so a fresh `can`) per execution. Two
//     more variants tell shield's own cost from the rules': the owner rule uncached, and
//     `publicAccess` everywhere.
// Prints markdown tables to stdout; docs/performance.md quotes them.
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { execute, parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { pino } from 'pino';
import { Field, ID, Int, ObjectType, Query, Resolver, buildSchema } from 'type-graphql';
import { or, permission, publicAccess, rule, type AuthenticatedUser, type IRules } from '@platform/kernel';
import { applyRules, permissionCheck, RemotePermissions } from '@platform/kernel/tools';

const CHECKS = 1_000_000;
const CHECK_WARMUP = 100_000;
const QUERY_WARMUP = 500;
const QUERY_SAMPLES = 10_000;
/** Stop sampling queries after this long even if QUERY_SAMPLES is not reached (slow machine). */
const QUERY_BUDGET_MS = 30_000;

const USER: AuthenticatedUser = { id: randomUUID(), token: 'bench-token' };
const OTHER_AUTHOR = randomUUID();

/** authz's `GET /internal/permissions` for one user: enough permissions to look like a real role. */
async function fakeAuthz(): Promise<{ url: string; requests: () => number; stop: () => Promise<void> }> {
  let requests = 0;
  const permissions = [
    'blog.post.read',
    'blog.post.update',
    ...Array.from({ length: 30 }, (_, i) => `bench.thing.action${i}`),
  ];
  const server = createServer((_req, res) => {
    requests++;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ userId: USER.id, all: false, permissions }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Stats {
  samples: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Statistics of durations in ms (sorted in place). */
function stats(durations: Float64Array, mean?: number): Stats {
  durations.sort();
  const at = (q: number): number => durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]!;
  let total = 0;
  for (const value of durations) total += value;
  return {
    samples: durations.length,
    mean: mean ?? total / durations.length,
    p50: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    max: durations[durations.length - 1]!,
  };
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * Times `check` one call at a time after a warm-up. Percentiles include the timer itself (a
 * few tens of ns); the mean is the whole loop's time divided by the calls.
 */
async function timeChecks(check: () => Promise<unknown>): Promise<Stats> {
  for (let i = 0; i < CHECK_WARMUP; i++) await check();
  const durations = new Float64Array(CHECKS);
  const started = nowMs();
  for (let i = 0; i < CHECKS; i++) {
    const t0 = process.hrtime.bigint();
    await check();
    durations[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  return stats(durations, (nowMs() - started) / CHECKS);
}

@ObjectType()
class Author {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;
}

@ObjectType()
class Post {
  @Field(() => ID)
  id!: string;

  @Field()
  title!: string;

  @Field()
  content!: string;

  @Field(() => Int)
  views!: number;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Author)
  author!: Author;

  authorId!: string;
}

const POSTS: Post[] = Array.from({ length: 20 }, (_, i) => {
  const authorId = i % 2 === 0 ? USER.id : OTHER_AUTHOR;
  return {
    id: randomUUID(),
    title: `Post number ${i}`,
    content: 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(8),
    views: i * 17,
    createdAt: new Date(Date.UTC(2026, 0, 1 + i)),
    author: { id: authorId, name: i % 2 === 0 ? 'Ada' : 'Bob' },
    authorId,
  };
});

@Resolver(() => Post)
class PostResolver {
  @Query(() => [Post])
  posts(): Post[] {
    return POSTS;
  }
}

const QUERY = parse(`{ posts { id title content views createdAt author { id name } } }`);

/**
 * A blog-like owner check. Shield's documentation suggests `cache: 'strict'` for a rule that
 * reads its parent; strict hashes parent and arguments (object-hash) on every evaluation, which
 * turns out to dominate, so the cheap `no_cache` is measured too.
 */
const isOwner = (cache: 'strict' | 'no_cache') =>
  rule(`isOwner:${cache}`, { cache })(
    (parent: Post, _args, context: { user?: AuthenticatedUser }) => parent.authorId === context.user?.id,
  );

/** What a module would declare: a permission on the root field, type-wide and per-field rules. */
const rulesWith = (owner: ReturnType<typeof isOwner>): IRules => ({
  Query: { posts: permission('blog.post.read') },
  Post: {
    id: publicAccess,
    title: publicAccess,
    content: publicAccess,
    createdAt: publicAccess,
    author: publicAccess,
    views: or(owner, permission('blog.post.update')),
  },
  Author: publicAccess,
});

/** Fields resolved to produce `data`: every key of every object in it. */
function countFields(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + countFields(item), 0);
  if (typeof value !== 'object' || value === null || value instanceof Date) return 0;
  return Object.values(value).reduce((sum: number, item) => sum + 1 + countFields(item), 0);
}

async function timeQueries(variants: Array<{ schema: GraphQLSchema; context: () => unknown }>): Promise<Stats[]> {
  const run = async ({ schema, context }: (typeof variants)[number]): Promise<void> => {
    const result = (await execute({ schema, document: QUERY, contextValue: context() })) as ExecutionResult;
    if (result.errors) throw new Error(`query failed: ${result.errors[0]!.message}`);
  };
  for (const variant of variants) for (let i = 0; i < QUERY_WARMUP; i++) await run(variant);
  // Alternating rounds, so drift (GC, CPU frequency, neighbours) hits every variant alike.
  const samples = variants.map(() => [] as number[]);
  const deadline = Date.now() + QUERY_BUDGET_MS;
  while (samples[0]!.length < QUERY_SAMPLES && Date.now() < deadline) {
    for (const [index, variant] of variants.entries()) {
      for (let i = 0; i < 100; i++) {
        const t0 = process.hrtime.bigint();
        await run(variant);
        samples[index]!.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
  }
  return samples.map((durations) => stats(Float64Array.from(durations)));
}

const us = (ms: number): string => (ms * 1000).toFixed(2);
const msText = (ms: number): string => ms.toFixed(3);

function markdown(headers: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** One markdown row per measured variant. */
function statRows(rows: Array<[string, Stats]>, cells: (row: Stats) => string[]): string[][] {
  return rows.map(([name, row]) => [name, ...cells(row)]);
}

async function main(): Promise<void> {
  const cpu = cpus();
  console.log(`# Permission checks (node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'})\n`);
  const authz = await fakeAuthz();
  const remote = new RemotePermissions({ url: authz.url, logger: pino({ level: 'silent' }), ttlMs: 3_600_000 });
  try {
    await remote.permissionsOf(USER);

    const calls = `${CHECKS.toLocaleString('en')} calls after ${CHECK_WARMUP.toLocaleString('en')} warm-up`;
    console.log(`## Cached check (${calls})\n`);
    const viaCheck = await timeChecks(() => permissionCheck(remote, USER)('blog.post.read'));
    const raw = await timeChecks(() => remote.permissionsOf(USER));
    const checkRows = statRows(
      [
        ['`permissionCheck(remote, user)(p)`, fresh per call', viaCheck],
        ['`remote.permissionsOf(user)`, cache hit', raw],
      ],
      (row) => [us(row.mean), us(row.p50), us(row.p99), us(row.max), row.p99 <= 0.05 ? 'met' : 'MISSED'],
    );
    console.log(markdown(['call', 'mean µs', 'p50 µs', 'p99 µs', 'max µs', 'p99 ≤ 50 µs'], checkRows));
    console.log(`\nauthz was asked ${authz.requests()} time(s) in all: the warm-up fetch.\n`);

    const bare = await buildSchema({ resolvers: [PostResolver], validate: false });
    const shielded = applyRules(bare, rulesWith(isOwner('strict')));
    const uncachedOwner = applyRules(bare, rulesWith(isOwner('no_cache')));
    const allowAll = applyRules(bare, { Query: publicAccess, Post: publicAccess, Author: publicAccess });
    const context = () => ({ user: USER, can: permissionCheck(remote, USER) });
    const expected = JSON.stringify(await execute({ schema: bare, document: QUERY, contextValue: {} }));
    for (const schema of [shielded, uncachedOwner, allowAll]) {
      const answer = JSON.stringify(await execute({ schema, document: QUERY, contextValue: context() }));
      if (answer !== expected) throw new Error(`a shielded schema answers differently: ${answer.slice(0, 300)}`);
    }
    const fields = countFields((JSON.parse(expected) as ExecutionResult).data);

    console.log(`## Shield on a \`posts\` query (${POSTS.length} posts, ${fields} fields resolved per query)\n`);
    const [plain, guarded, uncached, allowed] = await timeQueries([
      { schema: bare, context: () => ({}) },
      { schema: shielded, context },
      { schema: uncachedOwner, context },
      { schema: allowAll, context },
    ]);
    const queryRows = statRows(
      [
        ['bare type-graphql', plain!],
        ['`applyRules`, realistic rules (`isOwner` strict)', guarded!],
        ['`applyRules`, same with `isOwner` no_cache', uncached!],
        ['`applyRules`, `publicAccess` everywhere', allowed!],
      ],
      (row) => [String(row.samples), msText(row.p50), msText(row.p95), msText(row.p99), msText(row.mean)],
    );
    console.log(markdown(['schema', 'queries', 'median ms', 'p95 ms', 'p99 ms', 'mean ms'], queryRows));

    const overhead = (name: string, of: Stats, q: 'p50' | 'p95'): string[] => {
      const extra = of[q] - plain![q];
      return [name, msText(extra), us(extra / fields), `×${(of[q] / plain![q]).toFixed(1)}`];
    };
    console.log(
      `\n${markdown(
        ['overhead over bare', 'per query ms', 'per resolved field µs', 'bare ×'],
        [
          overhead('realistic rules (`isOwner` strict), median', guarded!, 'p50'),
          overhead('realistic rules (`isOwner` strict), p95', guarded!, 'p95'),
          overhead('`isOwner` no_cache, median', uncached!, 'p50'),
          overhead('`isOwner` no_cache, p95', uncached!, 'p95'),
          overhead('`publicAccess` everywhere, median', allowed!, 'p50'),
          overhead('`publicAccess` everywhere, p95', allowed!, 'p95'),
        ],
      )}`,
    );
    console.log(
      `\nRealistic rules: \`Query.posts: permission('blog.post.read')\`, \`Author\` type-wide \`publicAccess\`, ` +
        `\`Post\` per field with \`views: or(isOwner, permission('blog.post.update'))\` (half the posts are the ` +
        "caller's). A fresh context per query, so one cached permission lookup per query.",
    );
  } finally {
    await remote.close();
    await authz.stop();
  }
}

await main();
